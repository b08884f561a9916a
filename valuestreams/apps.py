from django.apps import AppConfig


class ValuestreamsConfig(AppConfig):
    name = "valuestreams"
