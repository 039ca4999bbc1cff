package io.necrostack.kafka.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The three-node variant: replicated topics, writes go on while one node is down. */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ThreeNodeClusterTest {
  @RegisterExtension static final KafkaBroker cluster = KafkaBroker.threeNodes();

  @Test
  void writesWithAcksAllGoOnWhileOneNodeIsDownAndItRejoins() throws Exception {
    String topic = "replicated";
    try (Admin admin = cluster.admin()) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 3))).all()
          .get(30, TimeUnit.SECONDS);
      TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames()
          .get(30, TimeUnit.SECONDS).get(topic);
      assertThat(d.partitions().get(0).replicas()).hasSize(3);
    }
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>(topic, "before")).get(30, TimeUnit.SECONDS);
      cluster.kill(2);
      // Two of three in sync: min.insync.replicas 2 still takes writes.
      producer.send(new ProducerRecord<>(topic, "during")).get(60, TimeUnit.SECONDS);
      cluster.start(2);
      producer.send(new ProducerRecord<>(topic, "after")).get(30, TimeUnit.SECONDS);
    }
    try (Admin admin = cluster.admin()) {
      assertThat(admin.describeCluster().nodes().get(30, TimeUnit.SECONDS)).hasSize(3);
    }
  }
}
