package io.necrostack.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.EventGraph;
import io.necrostack.core.Organ;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The AsyncAPI export is a valid AsyncAPI 3.0 document (checked against the specification's
 * JSON schema), says what the graph says, and its payload schemas describe the payloads
 * {@link Event#fromObject} actually writes.
 */
class AsyncApiExportTest {

  enum Priority { LOW, HIGH }

  record Address(String street, int number) {}

  record OrderPlaced(UUID orderId, String customer, List<String> items, BigDecimal total,
      Instant placedAt, Priority priority, Address shipTo, Map<String, Integer> quantities,
      boolean gift, long[] codes) {}

  record OrderShipped(UUID orderId, String carrier, Optional<String> trackingCode) {}

  private static EventGraph graph() {
    Organ placer = Organ.builder("on(CHECKOUT)")
        .listensTo("CHECKOUT")
        .emits("ORDER_PLACED", OrderPlaced.class)
        .handle(e -> null);
    Organ shipper = Organ.builder("shipper")
        .listensTo("ORDER_PLACED", OrderPlaced.class)
        .emits("ORDER_SHIPPED", OrderShipped.class)
        .emits("ORDER SHIPPED")
        .handle(e -> null);
    Organ audit = new Organ() {
      @Override
      public Set<String> listensTo() {
        return Set.of("ORDER_SHIPPED", "ORDER SHIPPED");
      }

      @Override
      public String name() {
        return "audit";
      }

      @Override
      public Emission handle(Event event) {
        return null;
      }
    };
    return EventGraph.of(List.of(placer, shipper, audit));
  }

  @Test
  void theExportIsAValidAsyncApi3Document() {
    String doc = graph().toAsyncApi("Shop", "1.2.3", "shop:events");

    assertThat(AsyncApi.problems(doc)).as("AsyncAPI 3.0.0 schema errors").isEmpty();
  }

  @Test
  void theSchemaCheckCatchesABrokenDocument() {
    ObjectNode doc = (ObjectNode) AsyncApi.parse(
        graph().toAsyncApi("Shop", "1.2.3", "shop:events"));
    ((ObjectNode) doc.get("operations").get("shipper.send")).put("action", "publish");
    ((ObjectNode) doc.get("info")).remove("version");

    assertThat(AsyncApi.problems(doc.toString())).as("the validator sees errors").isNotEmpty();
  }

  @Test
  void theDocumentHasTheChannelAMessagePerTypeAndAnOperationPerOrganAndDirection() {
    JsonNode doc = AsyncApi.parse(graph().toAsyncApi("Shop", "1.2.3", "shop:events"));

    assertThat(doc.get("asyncapi").asString()).isEqualTo("3.0.0");
    assertThat(doc.get("channels").get("events").get("address").asString())
        .isEqualTo("shop:events");
    JsonNode messages = doc.get("components").get("messages");
    assertThat(messages.propertyNames()).containsExactlyInAnyOrder(
        "CHECKOUT", "ORDER_PLACED", "ORDER_SHIPPED", "ORDER_SHIPPED_2");
    // Two types that differ only where keys cannot: each keeps its name.
    assertThat(List.of(messages.get("ORDER_SHIPPED").get("name").asString(),
        messages.get("ORDER_SHIPPED_2").get("name").asString()))
        .containsExactlyInAnyOrder("ORDER SHIPPED", "ORDER_SHIPPED");
    JsonNode operations = doc.get("operations");
    assertThat(operations.propertyNames()).containsExactlyInAnyOrder(
        "on_CHECKOUT_.receive", "on_CHECKOUT_.send", "shipper.receive", "shipper.send",
        "audit.receive");
    assertThat(operations.get("shipper.send").get("action").asString()).isEqualTo("send");
    assertThat(operations.get("shipper.send").get("messages").findValuesAsString("$ref"))
        .containsExactly("#/channels/events/messages/ORDER_SHIPPED",
            "#/channels/events/messages/ORDER_SHIPPED_2");
    assertThat(operations.get("on_CHECKOUT_.receive").get("title").asString())
        .isEqualTo("on(CHECKOUT) receives");
    JsonNode placed = doc.get("components").get("schemas").get("ORDER_PLACED").get("allOf");
    assertThat(placed.get(0).get("$ref").asString()).isEqualTo("#/components/schemas/Envelope");
    assertThat(placed.get(1).get("properties").get("event_type").get("const").asString())
        .isEqualTo("ORDER_PLACED");
    JsonNode payload = placed.get(1).get("properties").get("payload");
    assertThat(payload.get("title").asString()).isEqualTo("OrderPlaced");
    assertThat(payload.get("properties").get("priority").get("enum").valueStream()
        .map(JsonNode::asString).toList()).containsExactly("LOW", "HIGH");
    JsonNode checkout = doc.get("components").get("schemas").get("CHECKOUT").get("allOf");
    assertThat(checkout.get(1).get("properties").get("payload").get("type").asString())
        .as("undeclared: any object").isEqualTo("object");
  }

  @Test
  void aPayloadSchemaDescribesWhatFromObjectWrites() {
    OrderPlaced order = new OrderPlaced(UUID.randomUUID(), "Ada", List.of("quill", "ink"),
        new BigDecimal("12.50"), Instant.parse("2026-12-01T10:15:30.123456Z"), Priority.HIGH,
        new Address("Analytical Row", 7), Map.of("quill", 1, "ink", 3), true,
        new long[] {4, 2});
    Event event = Event.fromObject("ORDER_PLACED", order);
    JsonNode schema = payloadSchema("ORDER_PLACED");
    JsonNode payload = AsyncApi.parse(event.toJson()).get("payload");

    assertThat(AsyncApi.problems(schema, payload)).isEmpty();

    // And it is not a schema that takes anything: a wrong shape is refused.
    ObjectNode wrong = (ObjectNode) payload.deepCopy();
    wrong.put("priority", "URGENT");
    wrong.remove("customer");
    ((ObjectNode) wrong.get("shipTo")).put("number", "seven");
    assertThat(AsyncApi.problems(schema, wrong)).hasSize(3);
  }

  @Test
  void anOptionalComponentIsNotRequired() {
    JsonNode schema = payloadSchema("ORDER_SHIPPED");

    assertThat(schema.get("required").valueStream().map(JsonNode::asString).toList())
        .containsExactly("orderId", "carrier");
    assertThat(AsyncApi.problems(schema, AsyncApi.parse(
        "{\"orderId\":\"" + UUID.randomUUID() + "\",\"carrier\":\"owl\"}"))).isEmpty();
  }

  /** The payload schema the export gives an event type (found by the message's name). */
  private static JsonNode payloadSchema(String type) {
    JsonNode components = AsyncApi.parse(graph().toAsyncApi("Shop", "1.2.3", "shop:events"))
        .get("components");
    String key = components.get("messages").propertyNames().stream()
        .filter(k -> components.get("messages").get(k).get("name").asString().equals(type))
        .findFirst().orElseThrow();
    return components.get("schemas").get(key).get("allOf").get(1)
        .get("properties").get("payload");
  }
}
