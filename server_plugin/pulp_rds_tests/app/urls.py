from django.urls import path

from pulp_rds_tests.app.views import RdsConnectionTestsView

# pulpcore mounts a plugin's urlpatterns at the site root.
urlpatterns = [
    path("api/pulp/rds-connection-tests/", RdsConnectionTestsView.as_view()),
]
