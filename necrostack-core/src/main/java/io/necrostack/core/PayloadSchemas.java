package io.necrostack.core;

import java.lang.reflect.GenericArrayType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * JSON schemas (draft 07, which AsyncAPI's schema format extends) of declared payload
 * classes, as {@link Event#fromObject} writes them: a record becomes an object with a
 * property per component, each required unless its type is {@code Optional}; numbers, strings, booleans, enums, collections,
 * arrays and string-keyed maps as JSON has them; any other class is an object of unknown
 * shape. Null values are not described.
 */
final class PayloadSchemas {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private PayloadSchemas() {}

  /** The schema of a payload of this class. */
  static ObjectNode of(Class<?> type) {
    return schema(type, new HashSet<>());
  }

  private static ObjectNode schema(Type type, Set<Class<?>> enclosing) {
    if (type instanceof WildcardType w) {
      Type[] upper = w.getUpperBounds();
      return upper.length == 1 ? schema(upper[0], enclosing) : JSON.objectNode();
    }
    if (type instanceof GenericArrayType array) {
      return array(schema(array.getGenericComponentType(), enclosing));
    }
    if (type instanceof ParameterizedType p && p.getRawType() instanceof Class<?> raw) {
      Type[] args = p.getActualTypeArguments();
      if (Collection.class.isAssignableFrom(raw) && args.length == 1) {
        return array(schema(args[0], enclosing));
      }
      if (Map.class.isAssignableFrom(raw) && args.length == 2) {
        return JSON.objectNode().put("type", "object")
            .set("additionalProperties", schema(args[1], enclosing));
      }
      if (raw == Optional.class && args.length == 1) {
        return schema(args[0], enclosing);
      }
      return schema(raw, enclosing);
    }
    if (!(type instanceof Class<?> c)) {
      return JSON.objectNode(); // a type variable: anything
    }
    if (c == String.class || c == char.class || c == Character.class
        || CharSequence.class.isAssignableFrom(c)) {
      return simple("string");
    }
    if (c == boolean.class || c == Boolean.class) {
      return simple("boolean");
    }
    if (c == int.class || c == long.class || c == short.class || c == byte.class
        || c == Integer.class || c == Long.class || c == Short.class || c == Byte.class
        || c == BigInteger.class) {
      return simple("integer");
    }
    if (c == double.class || c == float.class || c == Double.class || c == Float.class
        || c == BigDecimal.class || Number.class.isAssignableFrom(c)) {
      return simple("number");
    }
    if (c == UUID.class) {
      return simple("string").put("format", "uuid");
    }
    if (c == Instant.class || c == OffsetDateTime.class || c == ZonedDateTime.class) {
      return simple("string").put("format", "date-time");
    }
    if (c == LocalDate.class) {
      return simple("string").put("format", "date");
    }
    if (c.isEnum()) {
      ArrayNode values = JSON.arrayNode();
      for (Object constant : c.getEnumConstants()) {
        values.add(((Enum<?>) constant).name());
      }
      return simple("string").set("enum", values);
    }
    if (c.isArray()) {
      return array(schema(c.getComponentType(), enclosing));
    }
    if (Collection.class.isAssignableFrom(c)) {
      return array(JSON.objectNode());
    }
    if (c.isRecord() && enclosing.add(c)) {
      ObjectNode properties = JSON.objectNode();
      ArrayNode required = JSON.arrayNode();
      for (RecordComponent component : c.getRecordComponents()) {
        properties.set(component.getName(), schema(component.getGenericType(), enclosing));
        if (component.getType() != Optional.class) {
          required.add(component.getName());
        }
      }
      enclosing.remove(c);
      ObjectNode object = simple("object").put("title", c.getSimpleName());
      object.set("properties", properties);
      if (!required.isEmpty()) {
        object.set("required", required);
      }
      return object;
    }
    // A class Jackson would write field by field, or a record inside itself: its shape is not
    // worth guessing here.
    return simple("object");
  }

  private static ObjectNode simple(String type) {
    return JSON.objectNode().put("type", type);
  }

  private static ObjectNode array(ObjectNode items) {
    return simple("array").set("items", items);
  }
}
