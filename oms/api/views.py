"""Kernel endpoints: the event feed and webhook management."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from oms import selectors
from oms.api.permissions import roles_allowed
from oms.api.schema import ERROR_RESPONSES
from oms.api.serializers import InputModelSerializer
from oms.models import WebhookDelivery, WebhookSubscription
from oms.roles import Role
from oms.services import webhooks

IntegrationAdmin = roles_allowed(Role.INTEGRATION)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="sequence")
    name = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    entity_type = serializers.CharField()
    entity_id = serializers.CharField()
    payload = serializers.JSONField()


class EventFeedApi(APIView):
    """The pull feed: events after a cursor, oldest first. Resume with the last id."""

    permission_classes = [IntegrationAdmin]

    class FilterSerializer(serializers.Serializer):
        after = serializers.IntegerField(min_value=0, default=0)
        name = serializers.CharField(required=False, allow_blank=True, default="")
        limit = serializers.IntegerField(min_value=1, max_value=500, default=100)

    class FeedSerializer(serializers.Serializer):
        events = EventSerializer(many=True)
        next_after = serializers.IntegerField()

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: FeedSerializer, **ERROR_RESPONSES},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        events = selectors.event_feed(
            after=params["after"], name_pattern=params["name"], limit=params["limit"]
        )
        next_after = events[-1].sequence if events else params["after"]
        return Response(
            {
                "events": EventSerializer(events, many=True).data,
                "next_after": next_after,
            }
        )


class SubscriptionSerializer(InputModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "url",
            "event_patterns",
            "active",
            "created_at",
            "secret_rotated_at",
        ]
        read_only_fields = ["id", "created_at", "secret_rotated_at"]

    event_patterns = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1
    )


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.IntegerField(source="event.sequence")
    event_name = serializers.CharField(source="event.name")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_id",
            "event_name",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "last_attempt_at",
            "next_attempt_at",
            "succeeded_at",
            "created_at",
        ]


def visible_subscription(request, pk: int) -> WebhookSubscription:
    """404 for a subscription that is not the caller's (admins see all)."""
    return get_object_or_404(selectors.subscription_list(user=request.user), pk=pk)


class WebhookListCreateApi(ListAPIView):
    """List subscriptions; POST creates one and returns its secret, once."""

    permission_classes = [IntegrationAdmin]
    serializer_class = SubscriptionSerializer

    queryset = WebhookSubscription.objects.none()  # the schema's model; see below

    def get_queryset(self):
        return selectors.subscription_list(user=self.request.user)

    @extend_schema(
        request=SubscriptionSerializer,
        responses={201: SubscriptionWithSecretSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = SubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = webhooks.subscription_create(
            **serializer.validated_data, owner=request.user
        )
        return Response(
            SubscriptionWithSecretSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )


class WebhookDetailApi(APIView):
    permission_classes = [IntegrationAdmin]

    @extend_schema(responses={200: SubscriptionSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(SubscriptionSerializer(visible_subscription(request, pk)).data)

    @extend_schema(
        request=SubscriptionSerializer,
        responses={200: SubscriptionSerializer, **ERROR_RESPONSES},
    )
    def patch(self, request, pk: int):
        subscription = visible_subscription(request, pk)
        serializer = SubscriptionSerializer(
            subscription, data=request.data, partial=True
        )
        serializer.is_valid(raise_exception=True)
        webhooks.subscription_update(
            subscription=subscription, **serializer.validated_data
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None, **ERROR_RESPONSES})
    def delete(self, request, pk: int):
        webhooks.subscription_deactivate(subscription=visible_subscription(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(APIView):
    permission_classes = [IntegrationAdmin]

    @extend_schema(
        request=None,
        responses={200: SubscriptionWithSecretSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, pk: int):
        subscription = visible_subscription(request, pk)
        webhooks.subscription_rotate_secret(subscription=subscription)
        return Response(SubscriptionWithSecretSerializer(subscription).data)


class DeliveryListApi(ListAPIView):
    """The delivery log, newest first; filter by subscription and status."""

    permission_classes = [IntegrationAdmin]
    serializer_class = DeliverySerializer

    class DeliveryFilterSerializer(serializers.Serializer):
        subscription = serializers.IntegerField(
            required=False, min_value=1, max_value=2**63 - 1
        )
        status = serializers.ChoiceField(
            choices=WebhookDelivery.Status.choices, required=False
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("subscription", int),
            OpenApiParameter("status", str, enum=WebhookDelivery.Status.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    queryset = WebhookDelivery.objects.none()  # the schema's model; see below

    def get_queryset(self):
        params = self.DeliveryFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.delivery_list(
            subscription_id=params.validated_data.get("subscription"),
            status=params.validated_data.get("status") or None,
            user=self.request.user,
        )


class DeliveryRedeliverApi(APIView):
    permission_classes = [IntegrationAdmin]

    @extend_schema(request=None, responses={202: DeliverySerializer, **ERROR_RESPONSES})
    def post(self, request, pk: int):
        delivery = webhooks.delivery_redeliver(
            delivery=get_object_or_404(
                selectors.delivery_list(user=request.user), pk=pk
            )
        )
        delivery.refresh_from_db()
        return Response(
            DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED
        )
