"""The load drill's users (locust): the public, the bureau, analysts and enterprises at once.

Run by benchmarks/load_drill.py, which builds the database, starts the app as in production
and passes the API tokens in the environment (LOAD_TOKENS: "user:token,user:token").
Each simulated user picks tasks by weight, with a short think time between them:

- the public: the region dashboard, the bulletins, the designations registry, the regions;
- the indicator API: one indicator or a small table, for a district or the city's districts;
- the bureau, signed in: the approval queue, the review board, a region page;
- an enterprise: records a monthly figure through the API (a submission).

Requests are named by kind ("page: …", "api: …") so the drill reports pages and indicator
queries apart, against their goals (p95 under 300 ms and under 100 ms).
"""

import os
import random

from locust import HttpUser, between, task

REGION = os.environ.get("LOAD_REGION", "320612")
CITY = os.environ.get("LOAD_CITY", "320600")
TOKENS = dict(pair.split(":", 1) for pair in os.environ.get("LOAD_TOKENS", "").split(",") if ":" in pair)
PERIODS = ["2023H1", "2022H2", "2022H1", "2023H2"]
CODES = ["projects_approved", "collaborations_introduced", "high_tech_share", "little_giants_new",
         "industrial_output", "enterprises"]


class Public(HttpUser):
    """Anyone, not signed in."""

    weight = 5
    wait_time = between(0.5, 2)

    @task(4)
    def dashboard(self):
        self.client.get(f"/regions/{REGION}/indicators/?period={random.choice(PERIODS)}",
                        name="page: region dashboard")

    @task(2)
    def bulletins(self):
        self.client.get("/bulletins/", name="page: bulletins")

    @task(1)
    def bulletin(self):
        self.client.get("/bulletins/1/", name="page: the published bulletin")

    @task(2)
    def designations(self):
        self.client.get("/designations/", name="page: designations registry")

    @task(1)
    def regions(self):
        self.client.get(f"/regions/{REGION}/", name="page: region")


class IndicatorQueries(HttpUser):
    """An analyst's scripts and the dashboards' charts asking the API."""

    weight = 3
    wait_time = between(0.2, 1)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {TOKENS.get('analyst', '')}"

    @task(4)
    def one_value(self):
        code = random.choice(CODES)
        self.client.get(f"/api/v1/indicators/{code}/values/?region={REGION}&period={random.choice(PERIODS)}",
                        name="api: one indicator, one district")

    @task(2)
    def table(self):
        codes = ",".join(random.sample(CODES, 3))
        self.client.get(f"/api/v1/indicators/table/?codes={codes}&region={REGION}&period={random.choice(PERIODS)}",
                        name="api: three indicators, one district")

    @task(1)
    def districts(self):
        self.client.get(f"/api/v1/indicators/projects_approved/values/?region={CITY}&by=children"
                        f"&period={random.choice(PERIODS)}", name="api: one indicator, the city's districts")


class Bureau(HttpUser):
    """A bureau admin working through the lists, signed in with a session."""

    weight = 1
    wait_time = between(1, 3)

    def on_start(self):
        self.client.get("/accounts/login/", name="page: sign in")
        token = self.client.cookies.get("csrftoken", "")
        self.client.post("/accounts/login/", {"username": "bureau", "password": "kechuang-demo",
                                              "csrfmiddlewaretoken": token},
                         headers={"Referer": f"{self.host}/accounts/login/"}, name="page: sign in")

    @task(2)
    def approvals(self):
        self.client.get("/statistics/review/", name="page: approval queue")

    @task(1)
    def board(self):
        self.client.get("/programmes/board/", name="page: review board")

    @task(1)
    def home(self):
        self.client.get("/", name="page: home (the bureau's work)")


class Enterprise(HttpUser):
    """An enterprise reporting a monthly figure through the API."""

    weight = 1
    wait_time = between(1, 3)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {TOKENS.get('zhongkeyi', '')}"

    @task
    def report(self):
        month = random.randint(1, 12)
        self.client.post("/api/v1/observations/", json={
            "organisation": "zhongkeyi-nantong", "metric": "operating-revenue", "period": f"2025-{month:02d}",
            "value": str(random.randint(1000, 9000)), "unit": "万元"}, name="api: record a figure (submission)")
