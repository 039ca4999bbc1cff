package io.necrostack.micrometer.prometheus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.necrostack.backend.InMemoryBackend;
import io.necrostack.core.Emission;
import io.necrostack.core.Event;
import io.necrostack.core.Organ;
import io.necrostack.core.Spine;
import io.necrostack.micrometer.NecroStackMetrics;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Prometheus scrape endpoint, scraped over real HTTP on an ephemeral port. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PrometheusEndpointTest {
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void servesTheSpineMetricsOnAnEphemeralPort() throws Exception {
    NecroStackMetrics metrics = new NecroStackMetrics();
    Spine spine = Spine.builder().backend(new InMemoryBackend())
        .organs(Organ.builder("greeter").listensTo("GREET").handle(e -> Event.of("GREETED")),
            Organ.builder("sink").listensTo("GREETED").handle(e -> Emission.none()))
        .observer(metrics).build();

    try (PrometheusEndpoint endpoint = PrometheusEndpoint.start(metrics.monitor(spine), 0)) {
      spine.run(Event.of("GREET"));
      assertThat(endpoint.port()).isPositive();

      HttpResponse<String> response = get(endpoint.uri());

      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Type")).hasValue(
          PrometheusEndpoint.CONTENT_TYPE);
      assertThat(response.body().lines())
          .anyMatch(l -> l.matches("necrostack_events_processed_total(\\{\\})? 2(\\.0)?"))
          .anyMatch(l -> l.matches("necrostack_handling_seconds_count\\{"
              + "event_type=\"GREET\",organ=\"greeter\",outcome=\"success\"} 1(\\.0)?"))
          .anyMatch(l -> l.matches("necrostack_events_in_flight(\\{\\})? 0(\\.0)?"));
    }
  }

  @Test
  void answersOnlyGetOnTheMetricsPathAndFreesThePortOnClose() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    URI uri;
    try (PrometheusEndpoint endpoint = PrometheusEndpoint.start(registry, 0)) {
      uri = endpoint.uri();
      assertThat(endpoint.registry()).isSameAs(registry);
      assertThat(get(uri.resolve("/other")).statusCode()).isEqualTo(404);
      HttpResponse<String> post = http.send(
          HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(post.statusCode()).isEqualTo(405);
      assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    }
    assertThatThrownBy(() -> get(uri)).isInstanceOf(ConnectException.class);
  }

  private HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
