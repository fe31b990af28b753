from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from training import urls as training_urls
from training import views

admin.site.site_header = "TIaaS administration"
admin.site.site_title = "TIaaS"
admin.site.index_title = "Trainings"

urlpatterns = [
    path("", views.root_redirect),
    path(settings.URL_PREFIX + "admin/", admin.site.urls),
    path(settings.URL_PREFIX, include(training_urls.tiaas_patterns)),
    path(settings.JOIN_PREFIX, include(training_urls.join_patterns)),
]

if settings.SERVE_STATIC:
    # Only for tests and demos without a web server in front; production lets nginx serve STATIC_ROOT.
    from django.contrib.staticfiles.views import serve
    from django.urls import re_path

    urlpatterns.append(re_path("^" + settings.STATIC_URL.lstrip("/") + "(?P<path>.*)$", serve, {"insecure": True}))

handler400 = "training.errors.handler400"
handler403 = "training.errors.handler403"
handler404 = "training.errors.handler404"
handler500 = "training.errors.handler500"
