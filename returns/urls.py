from django.urls import path

from returns import views

app_name = "returns"
urlpatterns = [
    path("", views.ReturnListView.as_view(), name="return-list"),
    path("export.csv", views.ReturnExportView.as_view(), name="return-export"),
    path("new/<str:number>/", views.ReturnCreateView.as_view(), name="return-create"),
    path("<int:pk>/", views.ReturnDetailView.as_view(), name="return-detail"),
    path("<int:pk>/retry/", views.ReturnRetryView.as_view(), name="return-retry"),
]
