from django.urls import path

from demo import views

urlpatterns = [path("email/", views.send_email, name="demo-email")]
