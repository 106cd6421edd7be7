"""Screening's resources under /api/v1/ (kechuang/designations/rules/api.py).

The rule sets are registered first: /screening/rulesets/ is theirs, not an organisation's key.
"""

from rest_framework.routers import SimpleRouter

from kechuang.designations.rules import api

router = SimpleRouter()  # the API root is the registry's
router.register("screening/rulesets", api.RuleSetViewSet, basename="screening-ruleset")
router.register("screening", api.ScreeningViewSet, basename="screening")
urlpatterns = router.urls
