package io.necrostack.kafka.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The harness itself: a real broker that takes writes, serves reads and survives a SIGKILL. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaBrokerTest {
  @RegisterExtension static final KafkaBroker broker = KafkaBroker.single();

  @Test
  void aWriteAcknowledgedBeforeASigkillIsReadAfterTheRestart() throws Exception {
    String topic = "harness";
    try (Admin admin = broker.admin()) {
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all()
          .get(30, TimeUnit.SECONDS);
      assertThat(admin.describeCluster().nodes().get(30, TimeUnit.SECONDS)).hasSize(1);
    }
    try (KafkaProducer<String, String> producer = producer()) {
      for (int i = 0; i < 20; i++) {
        producer.send(new ProducerRecord<>(topic, "k" + (i % 4), "v" + i)).get(30,
            TimeUnit.SECONDS);
      }
    }
    assertThat(readAll(topic, 20)).hasSize(20);

    broker.kill(0);
    assertThat(broker.isAlive(0)).isFalse();
    broker.start(0); // same ports, same log directory

    List<String> values = readAll(topic, 20);
    assertThat(values).containsExactlyInAnyOrderElementsOf(
        java.util.stream.IntStream.range(0, 20).mapToObj(i -> "v" + i).toList());
    assertThat(broker.url()).isEqualTo("kafka://127.0.0.1:" + broker.port(0));
  }

  private static KafkaProducer<String, String> producer() {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  /** Reads the topic from its start until {@code n} records are in, with a bound. */
  private static List<String> readAll(String topic, int n) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> partitions = List.of(new TopicPartition(topic, 0),
          new TopicPartition(topic, 1));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      List<String> values = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (values.size() < n && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          values.add(r.value());
        }
      }
      return values;
    }
  }
}
