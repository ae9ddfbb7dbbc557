"""The data set of bench/backoffice.py: a year of a retailer's orders, seeded by the
database itself (`INSERT … SELECT` over `generate_series`), which writes a million
orders and five million lines in minutes where row-by-row Python would take hours.

Distributions, all deterministic in the order id so a rerun gives the same data:
- placed over the last 365 days, in id order; older orders are mostly completed, the
  last week holds the open work (queues, holds, requests in the stores);
- channels web 55 %, app 20 %, pos 15 %, marketplace 10 %; types standard, BOPIS,
  POS, pre-order, backorder, replacement;
- 300,000 customers (repeat buyers), 6 e-mail domains;
- 1 to 9 lines per order (5 on average) over 5,000 SKUs with a skewed popularity;
- a fulfillment request per order that reached fulfillment (a DC, a store, or the
  pickup store), its lines for the last 30 days, a shipment with a tracking number
  per completed request (lead time by location type), returns for 3 % of completed
  orders, state transitions and events for the last 30 days, a brokering run every
  15 minutes and queue-size snapshots every 5 minutes for the last week.
"""

from django.db import connection, transaction
from django.utils import timezone

CHANNELS = [("bo-web", "Web"), ("bo-app", "App"), ("bo-pos", "POS"), ("bo-mkt", "Mkt")]
DC_COUNT = 3
STORE_COUNT = 40
SKU_COUNT = 5000
CUSTOMER_COUNT = 300_000
RULE_SET = "bench-backoffice"


def _sql(statement: str, params: dict | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or {})


def seeded_order_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM orders_order o JOIN orders_channel c "
            "ON c.id = o.channel_id WHERE c.code LIKE 'bo-%%'"
        )
        return cursor.fetchone()[0]


def wipe() -> None:
    """Remove a previous seed of another size (children first: Django's cascades
    are not in the database)."""
    orders = (
        "SELECT o.id FROM orders_order o JOIN orders_channel c ON c.id = o.channel_id"
        " WHERE c.code LIKE 'bo-%%'"
    )
    requests = f"SELECT id FROM orders_fulfillmentrequest WHERE order_id IN ({orders})"
    returns = f"SELECT id FROM returns_return WHERE order_id IN ({orders})"
    with transaction.atomic():
        for statement in [
            f"DELETE FROM orders_shipment WHERE request_id IN ({requests})",
            "DELETE FROM orders_fulfillmentrequestline"
            f" WHERE request_id IN ({requests})",
            f"DELETE FROM orders_fulfillmentrequest WHERE id IN ({requests})",
            f"DELETE FROM returns_returnline WHERE return_request_id IN ({returns})",
            f"DELETE FROM returns_return WHERE id IN ({returns})",
            f"DELETE FROM orders_orderline WHERE order_id IN ({orders})",
            "DELETE FROM oms_statetransition WHERE reason = 'bench-backoffice'",
            'DELETE FROM oms_event WHERE payload @> \'{"bench": "backoffice"}\'',
            f"DELETE FROM orders_order WHERE id IN ({orders})",
            "DELETE FROM orders_brokeringrun WHERE rule_set_id IN (SELECT id FROM"
            f" orders_routingruleset WHERE name = '{RULE_SET}')",
        ]:
            _sql(statement)


def seed(order_count: int) -> None:
    """Everything the pages read, for `order_count` orders, in one transaction."""
    with transaction.atomic():
        _seed_reference_data()
        _seed_orders(order_count)
        _seed_lines()
        _seed_fulfillment()
        _seed_returns()
        _seed_history()
    for table in [
        "orders_order",
        "orders_orderline",
        "orders_fulfillmentrequest",
        "orders_fulfillmentrequestline",
        "orders_shipment",
        "returns_return",
        "oms_statetransition",
        "oms_event",
    ]:
        _sql(f"VACUUM ANALYZE {table}")


def _seed_reference_data() -> None:
    now = timezone.now()
    for code, name in CHANNELS:
        _sql(
            "INSERT INTO orders_channel (code, name, grace_period_minutes,"
            " blocked_emails, blocked_domains, return_window_days,"
            " refund_shipping_on_last_return, auto_cancel_days)"
            " VALUES (%(code)s, %(name)s, 15, '[]', '[]', 30, true, 7)"
            " ON CONFLICT (code) DO NOTHING",
            {"code": code, "name": name},
        )
    _sql(
        "INSERT INTO inventory_location (code, name, type, address_line1,"
        " address_line2, city, region, postal_code, country, latitude, longitude,"
        " can_ship, can_pickup, routing_priority, safety_stock, active)"
        " SELECT code, code, type, '', '', 'Bench', '', '', 'GB', 52, -1, true,"
        " type = 'store', 10, 0, true FROM ("
        "  SELECT 'BO-DC' || n AS code, 'dc' AS type"
        "  FROM generate_series(1, %(dcs)s) n"
        "  UNION ALL SELECT 'BO-ST' || lpad(n::text, 2, '0'), 'store'"
        "  FROM generate_series(1, %(stores)s) n) l"
        " ON CONFLICT (code) DO NOTHING",
        {"dcs": DC_COUNT, "stores": STORE_COUNT},
    )
    _sql(
        "INSERT INTO inventory_product (sku, name, barcode, active, attributes,"
        " created_at, updated_at)"
        " SELECT 'BO-SKU-' || lpad(n::text, 5, '0'), 'Bench product ' || n, '',"
        " true, '{}', %(now)s, %(now)s FROM generate_series(0, %(skus)s - 1) n"
        " ON CONFLICT (sku) DO NOTHING",
        {"now": now, "skus": SKU_COUNT},
    )
    _sql(
        "INSERT INTO orders_routingruleset (name, description, queues,"
        " location_types, require_can_ship, exclude_rejecting_locations,"
        " sort_criteria, split_policy, active, created_at, updated_at)"
        " VALUES (%(name)s, '', '[\"brokering\"]', '[]', true, true, '[]',"
        " 'when_needed', false, %(now)s, %(now)s) ON CONFLICT (name) DO NOTHING",
        {"name": RULE_SET, "now": now},
    )
    # Lookup tables for the set-based inserts below.
    _sql(
        "CREATE TEMP TABLE bo_channel ON COMMIT DROP AS SELECT row_number() OVER"
        " (ORDER BY code) - 1 AS k, id, code FROM orders_channel"
        " WHERE code LIKE 'bo-%%'"
    )
    _sql(
        "CREATE TEMP TABLE bo_store ON COMMIT DROP AS SELECT row_number() OVER"
        " (ORDER BY code) - 1 AS k, id FROM inventory_location"
        " WHERE code LIKE 'BO-ST%%'"
    )
    _sql(
        "CREATE TEMP TABLE bo_dc ON COMMIT DROP AS SELECT row_number() OVER"
        " (ORDER BY code) - 1 AS k, id FROM inventory_location"
        " WHERE code LIKE 'BO-DC%%'"
    )
    _sql(
        "CREATE TEMP TABLE bo_sku ON COMMIT DROP AS SELECT row_number() OVER"
        " (ORDER BY sku) - 1 AS k, id, sku FROM inventory_product"
        " WHERE sku LIKE 'BO-SKU-%%'"
    )
    _sql("CREATE UNIQUE INDEX ON bo_sku (k)")
    _sql("ANALYZE bo_channel, bo_store, bo_dc, bo_sku")


def _seed_orders(order_count: int) -> None:
    # r: fraction of the year (0 = a year ago, 1 = now); u*: uniform draws from the
    # id, so the same id always gets the same order.
    _sql(
        """
        CREATE TEMP TABLE bo_draw ON COMMIT DROP AS
        SELECT i,
               i::float8 / %(n)s AS r,
               ((i * 7919) %% 10007) / 10007.0 AS u1,
               ((i * 104729) %% 10009) / 10009.0 AS u2,
               ((i * 1299709) %% 10037) / 10037.0 AS u3,
               ((i * 15485863) %% 10039) / 10039.0 AS u4
        FROM generate_series(1::bigint, %(n)s) i
        """,
        {"n": order_count},
    )
    _sql("ANALYZE bo_draw")
    _sql(
        """
        CREATE TEMP TABLE bo_shape ON COMMIT DROP AS
        SELECT i, r, u3, u4,
          %(now)s - interval '365 days' * (1 - r) AS placed_at,
          CASE WHEN u1 < 0.55 THEN 0 WHEN u1 < 0.75 THEN 1
               WHEN u1 < 0.90 THEN 2 ELSE 3 END AS channel_k,
          CASE WHEN u1 >= 0.75 AND u1 < 0.90 THEN 'pos'
               WHEN u2 < 0.12 THEN 'bopis' WHEN u2 < 0.15 THEN 'pre_order'
               WHEN u2 < 0.18 THEN 'backorder' WHEN u2 < 0.19 THEN 'replacement'
               ELSE 'standard' END AS order_type,
          CASE WHEN r < 1 - 7 / 365.0 THEN
                 CASE WHEN u3 < 0.90 THEN 'completed' WHEN u3 < 0.97 THEN 'cancelled'
                      WHEN u3 < 0.995 THEN 'in_fulfillment'
                      WHEN u3 < 0.999 THEN 'opened' ELSE 'on_hold' END
               WHEN r < 1 - 0.02 / 365.0 THEN
                 CASE WHEN u3 < 0.40 THEN 'completed' WHEN u3 < 0.45 THEN 'cancelled'
                      WHEN u3 < 0.75 THEN 'in_fulfillment'
                      WHEN u3 < 0.96 THEN 'opened' ELSE 'on_hold' END
               ELSE 'created' END AS status
        FROM bo_draw
        """,
        {"now": timezone.now()},
    )
    _sql(
        """
        INSERT INTO orders_order (external_id, order_type, status, queue,
          customer_name, customer_email, customer_phone, shipping_address, currency,
          shipping_method, shipping_price, shipping_tax, discount, total,
          shipping_credited, tags, fraud_score, placed_at, promise_date,
          grace_period_ends_at, hold_reasons, notes, intake_fingerprint, created_at,
          updated_at, channel_id, pickup_location_id, priority, exchange_credit)
        SELECT
          upper(substr(c.code, 4, 1)) || '-' || (7000000 + s.i),
          CASE WHEN s.channel_k = 2 THEN 'pos' ELSE s.order_type END,
          s.status,
          CASE WHEN s.status <> 'opened' THEN ''
               WHEN s.order_type = 'pre_order' THEN 'pre_order'
               WHEN s.order_type = 'backorder' THEN 'backorder'
               WHEN s.order_type = 'bopis' AND s.u4 < 0.3 THEN 'bopis_rejected'
               WHEN s.u4 < 0.45 THEN 'brokering'
               WHEN s.u4 < 0.75 THEN 'unfillable'
               WHEN s.u4 < 0.85 THEN 'unfillable_hold'
               ELSE 'rejected' END,
          'Customer ' || (s.i * 48271 %% %(customers)s),
          'customer' || (s.i * 48271 %% %(customers)s) || '@' ||
            (ARRAY['example.com', 'mail.test', 'shop.test', 'inbox.test',
                   'post.test', 'web.test'])[1 + s.i * 48271 %% %(customers)s %% 6],
          '', '{"city": "Bench", "country": "GB"}', 'GBP',
          CASE WHEN s.order_type IN ('bopis', 'pos') THEN '' ELSE 'standard' END,
          4.99, 1.00, 0, 20 + (s.u4 * 300)::numeric(10, 2), 0, '[]',
          (s.u4 * 100)::numeric(6, 2), s.placed_at,
          CASE WHEN s.order_type = 'pre_order'
               THEN (s.placed_at + interval '20 days')::date END,
          s.placed_at + interval '15 minutes',
          CASE WHEN s.status = 'on_hold' THEN '["order_value_limit"]'
               ELSE '[]' END::jsonb,
          '', '', s.placed_at, s.placed_at, c.id,
          CASE WHEN s.channel_k = 2 OR s.order_type = 'bopis'
               THEN st.id END,
          0, 0
        FROM bo_shape s
        JOIN bo_channel c ON c.k = s.channel_k
        JOIN bo_store st ON st.k = s.i %% %(stores)s
        ORDER BY s.i
        """,
        {"customers": CUSTOMER_COUNT, "stores": STORE_COUNT},
    )
    _sql(
        "CREATE TEMP TABLE bo_order ON COMMIT DROP AS SELECT o.id, o.status,"
        " o.order_type, o.placed_at, o.pickup_location_id, o.total, o.channel_id,"
        " o.external_id, o.number FROM orders_order o"
        " JOIN bo_channel c ON c.id = o.channel_id"
    )
    _sql("CREATE UNIQUE INDEX ON bo_order (id)")
    _sql("ANALYZE bo_order")


def _seed_lines() -> None:
    # 1 to 9 lines per order by the id (5 on average); the SKU drawn with a skew
    # (a few best sellers, a long tail) as floor(SKUs * u^1.5).
    _sql(
        """
        INSERT INTO orders_orderline (position, sku, quantity, unit_price, discount,
          order_discount_share, tax, quantity_open, quantity_allocated,
          quantity_fulfilled, quantity_cancelled, quantity_returned,
          credited_amount, final_sale, order_id, product_id)
        SELECT l.position, p.sku, l.quantity, 9.99 + l.position, 0, 0, 1.66,
          CASE WHEN o.status IN ('created', 'opened', 'on_hold')
               THEN l.quantity ELSE 0 END,
          CASE WHEN o.status = 'in_fulfillment' THEN l.quantity ELSE 0 END,
          CASE WHEN o.status = 'completed' THEN l.quantity ELSE 0 END,
          CASE WHEN o.status = 'cancelled' THEN l.quantity ELSE 0 END,
          0, 0, false, o.id, p.id
        FROM bo_order o
        CROSS JOIN LATERAL (
          SELECT n AS position, 1 + (o.id + n) %% 3 AS quantity,
            floor(%(skus)s
                  * power(((o.id * 31 + n * 7907) %% 10007)::float8 / 10007, 1.5)
            )::int
              AS sku_k
          FROM generate_series(1, 1 + (o.id * 7) %% 9) n
        ) l
        JOIN bo_sku p ON p.k = l.sku_k
        """,
        {"skus": SKU_COUNT},
    )


def _seed_fulfillment() -> None:
    # Requests: the pickup store for BOPIS and POS, else a DC (70 %) or a store.
    _sql(
        """
        INSERT INTO orders_fulfillmentrequest (number, status, is_pickup, explanation,
          rejection_reason, pickup_deadline, created_at, updated_at, location_id,
          order_id)
        SELECT o.number || '-1',
          CASE WHEN o.status = 'completed' THEN 'completed'
               WHEN o.order_type = 'bopis' AND o.id %% 3 = 0 THEN 'ready_for_pickup'
               ELSE (ARRAY['assigned', 'accepted', 'packed'])[1 + o.id %% 3] END,
          o.order_type = 'bopis', '{}', '',
          CASE WHEN o.order_type = 'bopis' THEN o.placed_at + interval '5 days' END,
          o.placed_at + interval '20 minutes', o.placed_at + interval '20 minutes',
          COALESCE(o.pickup_location_id,
                   CASE WHEN o.id %% 10 < 7 THEN dc.id ELSE st.id END),
          o.id
        FROM bo_order o
        JOIN bo_dc dc ON dc.k = o.id %% %(dcs)s
        JOIN bo_store st ON st.k = o.id %% %(stores)s
        WHERE o.status IN ('in_fulfillment', 'completed')
        """,
        {"dcs": DC_COUNT, "stores": STORE_COUNT},
    )
    _sql(
        """
        INSERT INTO orders_fulfillmentrequestline (quantity, quantity_rejected,
          quantity_shipped, quantity_withdrawn, rejection_reason, order_line_id,
          request_id)
        SELECT l.quantity, 0,
          CASE WHEN r.status = 'completed' THEN l.quantity ELSE 0 END,
          0, '', l.id, r.id
        FROM orders_fulfillmentrequest r
        JOIN bo_order o ON o.id = r.order_id
        JOIN orders_orderline l ON l.order_id = o.id
        WHERE o.placed_at > now() - interval '30 days'
        """
    )
    # Lead time placed → shipped: hours at a DC, longer at a store, with a tail.
    _sql(
        """
        INSERT INTO orders_shipment (carrier, tracking_number, amount_captured,
          currency, lines, created_at, request_id)
        SELECT CASE WHEN r.is_pickup THEN '' ELSE 'DPD' END,
          'TRK' || lpad(r.id::text, 10, '0'), o.total, 'GBP', '[]',
          o.placed_at + interval '1 hour' * (
            CASE WHEN loc.type = 'dc' THEN 6 ELSE 18 END
            * (1 + power((r.id * 7919 %% 1009)::float8 / 1009, 3) * 6)),
          r.id
        FROM orders_fulfillmentrequest r
        JOIN bo_order o ON o.id = r.order_id
        JOIN inventory_location loc ON loc.id = r.location_id
        WHERE r.status = 'completed'
        """
    )


def _seed_returns() -> None:
    _sql(
        """
        INSERT INTO returns_return (external_order_id, external_return_id, currency,
          status, checks, window_extension_days, correction_comment,
          total_refund_amount, total_credit_amount, created_at, processed_at,
          channel_id, location_id, order_id)
        SELECT o.external_id, '', 'GBP',
          CASE WHEN o.id %% 50 = 0 THEN 'failed' ELSE 'processed' END, '[]', 0, '',
          10.99, 0, o.placed_at + interval '9 days',
          CASE WHEN o.id %% 50 = 0 THEN NULL ELSE o.placed_at + interval '9 days' END,
          o.channel_id, dc.id, o.id
        FROM bo_order o JOIN bo_dc dc ON dc.k = o.id %% %(dcs)s
        WHERE o.status = 'completed' AND o.id %% 33 = 0
          AND o.placed_at < now() - interval '9 days'
        """,
        {"dcs": DC_COUNT},
    )
    _sql(
        """
        INSERT INTO returns_returnline (line_type, sku, quantity, unit_price, reason,
          condition, refund_amount, credit_amount, restocked, replacement_sku,
          replacement_quantity, order_line_id, product_id, return_request_id)
        SELECT 'item', l.sku, 1, l.unit_price, 'damaged', 'resellable', 10.99, 0, true,
          '', 0,
          l.id, l.product_id, r.id
        FROM returns_return r
        JOIN bo_order o ON o.id = r.order_id
        JOIN orders_orderline l ON l.order_id = o.id AND l.position = 1
        """
    )


def _seed_history() -> None:
    """The last 30 days' timeline rows, brokering runs and queue-size snapshots."""
    _sql(
        """
        INSERT INTO oms_statetransition (entity_type, entity_id, field, source,
          target, transition, reason, occurred_at)
        SELECT 'order', o.id::text, 'status', t.source, t.target, t.name,
          'bench-backoffice', o.placed_at + t.after
        FROM bo_order o
        CROSS JOIN (VALUES ('created', 'opened', 'open', interval '15 minutes'),
          ('opened', 'in_fulfillment', 'start_fulfillment', interval '20 minutes'),
          ('in_fulfillment', 'completed', 'complete', interval '30 hours'))
          AS t(source, target, name, after)
        WHERE o.placed_at > now() - interval '30 days'
        """
    )
    _sql(
        """
        INSERT INTO oms_event (name, occurred_at, entity_type, entity_id, payload,
          dispatched_at)
        SELECT e.name, o.placed_at + e.after, 'order', o.id::text,
          jsonb_build_object('bench', 'backoffice', 'number', o.number),
          o.placed_at + e.after
        FROM bo_order o
        CROSS JOIN (VALUES ('order.created', interval '0'),
          ('order.opened', interval '15 minutes'))
          AS e(name, after)
        WHERE o.placed_at > now() - interval '30 days'
        """
    )
    _sql(
        """
        INSERT INTO orders_brokeringrun (status, orders_seen, orders_routed,
          orders_split, orders_unfillable, orders_deferred, orders_total, error,
          created_at, started_at, finished_at, lease_expires_at, rule_set_id)
        SELECT 'completed', 400 + n %% 200, 300 + n %% 150, 20 + n %% 30,
          10 + n %% 25, n %% 10, 400 + n %% 200, '', t, t, t + interval '8 seconds',
          t + interval '8 seconds',
          (SELECT id FROM orders_routingruleset WHERE name = %(rule_set)s)
        FROM generate_series(1, 7 * 96) n,
          LATERAL (SELECT now() - interval '15 minutes' * n AS t) at
        """,
        {"rule_set": RULE_SET},
    )


def ensure_queue_history() -> None:
    """Queue-size snapshots every 5 minutes over the last day (as beat records
    them), added up to now on every run: the chart shows the last 24 hours."""
    _sql(
        """
        INSERT INTO orders_queuesnapshot (taken_at, queue, size)
        SELECT date_trunc('minute', now()) - interval '5 minutes' * n, q.queue,
          (q.base + 40 * sin(n / 20.0) + n %% 17)::int
        FROM generate_series(0, 287) n,
          (VALUES ('brokering', 300), ('unfillable', 900), ('unfillable_hold', 250),
                  ('pre_order', 120), ('backorder', 140), ('rejected', 200),
                  ('bopis_rejected', 60)) AS q(queue, base)
        ON CONFLICT (taken_at, queue) DO NOTHING
        """
    )
