from django.conf import settings


def site(request):
    return {
        "tiaas_owner": settings.TIAAS["OWNER"],
        "tiaas_owner_email": settings.TIAAS["OWNER_EMAIL"],
        "tiaas_owner_site": settings.TIAAS["OWNER_SITE"],
    }
