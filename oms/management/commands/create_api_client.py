from django.core.management.base import BaseCommand, CommandError

from oms.errors import ApplicationError
from oms.roles import Role
from oms.services.api_clients import api_client_create


class Command(BaseCommand):
    help = "Create an API client for an integration and print its token once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", default=Role.INTEGRATION, choices=Role.values)

    def handle(self, *args, name: str, role: str, **options):
        try:
            client, token = api_client_create(name=name, role=role)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"API client {client.name!r} (role {role}). Token, shown once:"
        )
        self.stdout.write(token)
