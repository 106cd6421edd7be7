"""The registry's REST interface (/api/v1/): serializers parse and render, viewsets
call `registry.services` inside one transaction. No business rule lives here.

- `fields`: the field types the registry needs (keys, partial dates, region names).
- `serializers`: one serializer per resource.
- `views`: one viewset per resource; list, retrieve, create, update (no delete).
"""
