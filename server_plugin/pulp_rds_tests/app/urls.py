from django.urls import path

from pulp_rds_tests.app.views import RdsConnectionTestsView

# pulpcore mounts a plugin's urlpatterns at the site root. The guide's endpoint works in
# the default domain; with domains on (DOMAIN_ENABLED), /api/pulp/<domain>/... dispatches
# the probe tasks into that domain (pulpcore's DomainMiddleware reads `pulp_domain`, and
# answers 404 for a domain that does not exist).
urlpatterns = [
    path("api/pulp/rds-connection-tests/", RdsConnectionTestsView.as_view()),
    path(
        "api/pulp/<slug:pulp_domain>/rds-connection-tests/",
        RdsConnectionTestsView.as_view(),
    ),
]
