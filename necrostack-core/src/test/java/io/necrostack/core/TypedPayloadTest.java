package io.necrostack.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Records in through {@link Event#fromObject}, out through {@link Event#payloadAs}. */
class TypedPayloadTest {

  record Line(String sku, int qty) {}

  record Order(String orderId, double amount, boolean express, List<Line> lines, String note) {}

  /** A plain bean, for users who are not on records. */
  public static final class Bean {
    private String name;
    private long count;

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
    }

    public long getCount() {
      return count;
    }

    public void setCount(long count) {
      this.count = count;
    }
  }

  private static final Order ORDER =
      new Order("o-1", 99.99, true, List.of(new Line("a", 1), new Line("b", 2)), null);

  @Test
  void aRecordBecomesAJsonObjectPayload() {
    Event event = Event.fromObject("ORDER_PLACED", ORDER);
    assertThat(event.eventType()).isEqualTo("ORDER_PLACED");
    assertThat(event.payload())
        .containsEntry("orderId", "o-1")
        .containsEntry("amount", 99.99)
        .containsEntry("express", true)
        .containsEntry("lines", List.of(Map.of("sku", "a", "qty", 1), Map.of("sku", "b", "qty", 2)))
        .containsKey("note");
  }

  @Test
  void aRecordComesBackOut() {
    assertThat(Event.fromObject("ORDER_PLACED", ORDER).payloadAs(Order.class)).isEqualTo(ORDER);
  }

  @Test
  void aRecordSurvivesTheJsonRoundTrip() {
    Event event = Event.fromObject("ORDER_PLACED", ORDER);
    assertThat(Event.fromJson(event.toJson()).payloadAs(Order.class)).isEqualTo(ORDER);
  }

  @Test
  void aPythonPayloadReadsAsARecord() {
    record Greeting(String name) {}
    Event event =
        Event.fromJson("{\"event_type\": \"GREET\", \"payload\": {\"name\": \"NecroStack\"}}");
    assertThat(event.payloadAs(Greeting.class)).isEqualTo(new Greeting("NecroStack"));
  }

  @Test
  void aBeanWorksBothWays() {
    Bean bean = new Bean();
    bean.setName("x");
    bean.setCount(5_000_000_000L);
    Event event = Event.fromObject("B", bean);
    assertThat(event.payload()).containsEntry("name", "x").containsEntry("count", 5_000_000_000L);
    Bean back = event.payloadAs(Bean.class);
    assertThat(back.getName()).isEqualTo("x");
    assertThat(back.getCount()).isEqualTo(5_000_000_000L);
  }

  @Test
  void theTypedPayloadIsAFrozenCopy() {
    Event event = Event.fromObject("ORDER_PLACED", ORDER);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> event.payload().put("x", 1))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void somethingThatIsNotAnObjectIsRefusedNamingThePayload() {
    EventValidationException nullPayload =
        catchThrowableOfType(EventValidationException.class, () -> Event.fromObject("X", null));
    assertThat(nullPayload.field()).isEqualTo("payload");
    EventValidationException string =
        catchThrowableOfType(EventValidationException.class, () -> Event.fromObject("X", "text"));
    assertThat(string.field()).isEqualTo("payload");
    assertThat(string.getMessage()).contains("java.lang.String");
    EventValidationException list =
        catchThrowableOfType(
            EventValidationException.class, () -> Event.fromObject("X", List.of(1, 2)));
    assertThat(list.field()).isEqualTo("payload");
  }

  @Test
  void aPayloadThatDoesNotFitTheTypeIsRefusedNamingTheType() {
    Event event = Event.of("X", Map.of("sku", "a", "qty", "not a number"));
    EventValidationException e =
        catchThrowableOfType(EventValidationException.class, () -> event.payloadAs(Line.class));
    assertThat(e).isNotNull();
    assertThat(e.field()).isEqualTo("payload");
    assertThat(e.getMessage()).contains(Line.class.getName());
  }

  @Test
  void theEventTypeIsValidatedToo() {
    EventValidationException e =
        catchThrowableOfType(EventValidationException.class, () -> Event.fromObject(" ", ORDER));
    assertThat(e.field()).isEqualTo("event_type");
  }
}
