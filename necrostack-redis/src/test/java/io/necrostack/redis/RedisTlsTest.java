package io.necrostack.redis;

import io.necrostack.testing.RedisServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.necrostack.backend.BackendException;
import io.necrostack.backend.Delivery;
import io.necrostack.core.Event;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** TLS with a self-signed certificate given as a trust store. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisTlsTest {
  @RegisterExtension static final RedisServer server = RedisServer.withTls();

  private static final char[] STORE_PASSWORD = "changeit".toCharArray();

  private static Path trustStore() throws Exception {
    Path store = server.dir().resolve("trust.p12");
    if (Files.exists(store)) {
      return store;
    }
    Certificate cert;
    try (InputStream in = Files.newInputStream(server.certificate())) {
      cert = CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("redis-test", cert);
    try (OutputStream out = Files.newOutputStream(store)) {
      ks.store(out, STORE_PASSWORD);
    }
    return store;
  }

  @Test
  void connectsWithTheSelfSignedCertificateAsTrustStore() throws Exception {
    try (RedisBackend backend = RedisBackend.create(RedisBackendConfig.builder()
        .url(server.tlsUrl())
        .stream(TestRedis.uniqueStream("tls"))
        .blockTime(Duration.ofMillis(50))
        .trustStore(trustStore(), STORE_PASSWORD)
        .build())) {
      Event event = Event.of("OVER_TLS");
      backend.enqueue(event);
      List<Delivery> got = backend.pull(1, Duration.ofSeconds(2));
      assertThat(got).extracting(Delivery::event).containsExactly(event);
      assertThat(backend.health().up()).isTrue();
    }
  }

  @Test
  void anUntrustedCertificateIsRefused() {
    assertThatThrownBy(() -> RedisBackend.create(RedisBackendConfig.builder()
            .url(server.tlsUrl())
            .stream(TestRedis.uniqueStream("tls"))
            .commandTimeout(Duration.ofSeconds(3))
            .build()))
        .isInstanceOf(BackendException.class)
        .hasMessageContaining("cannot connect to Redis at " + server.tlsUrl());
  }
}
