from django.urls import path

from booking import views

app_name = "pages"

urlpatterns = [
    path("", views.page_list, name="list"),
]
