package io.necrostack.core;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Writes an {@link EventGraph} as an AsyncAPI 3.0 document: one channel (the stream or topic
 * every event travels on), a message per event type whose schema is the four-field envelope
 * of the wire format with that type and its payload, and an operation per organ and
 * direction.
 *
 * <p>AsyncAPI keys must match {@code [a-zA-Z0-9.\-_]+}, and event types and organ names may
 * hold any character ({@code on(GREET)}): keys are made from them with every other character
 * replaced, and a number added where two would clash; the names themselves are kept as
 * message names and operation titles.
 */
final class AsyncApiDocument {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  private static final String CHANNEL = "events";

  private AsyncApiDocument() {}

  static String of(EventGraph graph, String title, String version, String address) {
    Objects.requireNonNull(title, "title == null");
    Objects.requireNonNull(version, "version == null");
    Objects.requireNonNull(address, "address == null");
    Keys keys = new Keys();
    Map<String, Class<?>> payloadTypes = new HashMap<>();
    for (EventGraph.Node node : graph.organs()) {
      node.payloadTypes().forEach(payloadTypes::putIfAbsent);
    }

    ObjectNode root = JSON.objectNode();
    root.put("asyncapi", "3.0.0");
    ObjectNode info = root.putObject("info");
    info.put("title", title);
    info.put("version", version);
    info.put("description", "The events of " + title + " and the organs that handle and emit"
        + " them, exported by NecroStack. Every message is the NecroStack envelope (id,"
        + " timestamp, event_type, payload), the Python original's wire format; metadata"
        + " (correlation and causation ids, depth, trace context) travels beside it.");
    root.put("defaultContentType", "application/json");

    Map<String, String> messageKeys = new LinkedHashMap<>();
    for (String type : graph.eventTypes()) {
      messageKeys.put(type, keys.unique(type));
    }
    ObjectNode channel = root.putObject("channels").putObject(CHANNEL);
    channel.put("address", address);
    channel.put("description", "The stream or topic every event of the graph travels on.");
    ObjectNode channelMessages = channel.putObject("messages");
    messageKeys.values().forEach(key ->
        channelMessages.putObject(key).put("$ref", "#/components/messages/" + key));

    ObjectNode operations = root.putObject("operations");
    Keys operationKeys = new Keys();
    for (EventGraph.Node node : graph.organs()) {
      operation(operations, operationKeys, node, "receive", node.listensTo(), messageKeys);
      operation(operations, operationKeys, node, "send", node.emits(), messageKeys);
    }

    ObjectNode components = root.putObject("components");
    ObjectNode schemas = components.putObject("schemas");
    schemas.set("Envelope", envelope());
    ObjectNode messages = components.putObject("messages");
    messageKeys.forEach((type, key) -> {
      ObjectNode message = messages.putObject(key);
      message.put("name", type);
      message.put("title", type);
      message.put("contentType", "application/json");
      message.putObject("payload").put("$ref", "#/components/schemas/" + key);
      Class<?> payloadType = payloadTypes.get(type);
      schemas.set(key, messageSchema(type, payloadType));
    });
    return EventJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
  }

  private static void operation(ObjectNode operations, Keys keys, EventGraph.Node node,
      String action, Set<String> types, Map<String, String> messageKeys) {
    if (types.isEmpty()) {
      return;
    }
    ObjectNode op = operations.putObject(keys.unique(node.name() + "." + action));
    op.put("action", action);
    op.putObject("channel").put("$ref", "#/channels/" + CHANNEL);
    op.put("title", node.name() + " " + action + "s");
    op.put("summary", ("receive".equals(action) ? "Organ " + node.name() + " handles "
        : "Organ " + node.name() + " emits ") + String.join(", ", sorted(types)) + ".");
    ArrayNode refs = op.putArray("messages");
    for (String type : sorted(types)) {
      refs.addObject().put("$ref", "#/channels/" + CHANNEL + "/messages/"
          + messageKeys.get(type));
    }
  }

  /** The envelope every message shares: the four fields of the wire format. */
  private static ObjectNode envelope() {
    ObjectNode schema = JSON.objectNode();
    schema.put("type", "object");
    schema.put("description", "A NecroStack event as written to the stream or topic.");
    ArrayNode required = schema.putArray("required");
    for (String field : List.of("id", "timestamp", "event_type", "payload")) {
      required.add(field);
    }
    schema.put("additionalProperties", false);
    ObjectNode properties = schema.putObject("properties");
    properties.putObject("id").put("type", "string").put("format", "uuid")
        .put("description", "A version-4 UUID, unique per event.");
    properties.putObject("timestamp").put("type", "string").put("format", "date-time")
        .put("description", "When the event was made, UTC, microseconds.");
    properties.putObject("event_type").put("type", "string").put("minLength", 1);
    properties.putObject("payload").put("type", "object");
    return schema;
  }

  private static ObjectNode messageSchema(String type, Class<?> payloadType) {
    ObjectNode schema = JSON.objectNode();
    ArrayNode allOf = schema.putArray("allOf");
    allOf.addObject().put("$ref", "#/components/schemas/Envelope");
    ObjectNode own = allOf.addObject();
    ObjectNode properties = own.putObject("properties");
    properties.putObject("event_type").put("const", type);
    properties.set("payload", payloadType == null
        ? JSON.objectNode().put("type", "object")
        : PayloadSchemas.of(payloadType));
    return schema;
  }

  private static List<String> sorted(Set<String> types) {
    return types.stream().sorted().toList();
  }

  /** Unique AsyncAPI keys made from free text. */
  private static final class Keys {
    private final Set<String> used = new HashSet<>();

    String unique(String text) {
      String base = text.replaceAll("[^a-zA-Z0-9.\\-_]", "_");
      if (base.isEmpty()) {
        base = "_";
      }
      String key = base;
      for (int n = 2; !used.add(key); n++) {
        key = base + "_" + n;
      }
      return key;
    }
  }
}
