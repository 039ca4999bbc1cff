package io.necrostack.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The event graph of a set of organs: which event types each organ listens to and which it
 * declares it emits. Renders as Mermaid or Graphviz DOT.
 *
 * <p>Only declared emissions appear; an organ that declares none shows no outgoing edge.
 *
 * @param organs the organs, in registration order
 */
public record EventGraph(List<Node> organs) {

  /**
   * One organ in the graph.
   *
   * @param name the organ's name
   * @param listensTo the types it listens to
   * @param emits the types it declares it emits
   * @param payloadTypes the payload classes it declares, by event type (see {@link
   *     Organ#payloadTypes()})
   */
  public record Node(String name, Set<String> listensTo, Set<String> emits,
      Map<String, Class<?>> payloadTypes) {
    /** Copies the sets and the map. */
    public Node {
      listensTo = Set.copyOf(listensTo);
      emits = Set.copyOf(emits);
      payloadTypes = Map.copyOf(payloadTypes);
    }

    /** A node without payload declarations. */
    public Node(String name, Set<String> listensTo, Set<String> emits) {
      this(name, listensTo, emits, Map.of());
    }
  }

  /** Copies the list. */
  public EventGraph {
    organs = List.copyOf(organs);
  }

  /** The graph of the given organs. */
  public static EventGraph of(List<Organ> organs) {
    List<Node> nodes = new ArrayList<>();
    for (Organ organ : organs) {
      Map<String, Class<?>> payloadTypes = organ.payloadTypes();
      nodes.add(new Node(organ.name(), ordered(organ.listensTo()), ordered(organ.emits()),
          payloadTypes == null ? Map.of() : payloadTypes));
    }
    return new EventGraph(nodes);
  }

  /** The graph as a Mermaid flowchart: event types as rounded nodes, organs as boxes. */
  public String toMermaid() {
    Map<String, String> typeIds = typeIds();
    StringBuilder sb = new StringBuilder("flowchart LR\n");
    typeIds.forEach((type, id) -> sb.append("  ").append(id).append("([")
        .append(mermaidLabel(type)).append("])\n"));
    for (int i = 0; i < organs.size(); i++) {
      sb.append("  o").append(i).append("[").append(mermaidLabel(organs.get(i).name()))
          .append("]\n");
    }
    for (int i = 0; i < organs.size(); i++) {
      Node node = organs.get(i);
      for (String type : sortedCopy(node.listensTo())) {
        sb.append("  ").append(typeIds.get(type)).append(" --> o").append(i).append('\n');
      }
      for (String type : sortedCopy(node.emits())) {
        sb.append("  o").append(i).append(" --> ").append(typeIds.get(type)).append('\n');
      }
    }
    return sb.toString();
  }

  /** The graph in Graphviz DOT: event types as ellipses, organs as boxes. */
  public String toDot() {
    StringBuilder sb = new StringBuilder("digraph necrostack {\n  rankdir=LR;\n");
    for (String type : typeIds().keySet()) {
      sb.append("  ").append(quote(type)).append(" [shape=ellipse];\n");
    }
    for (Node node : organs) {
      sb.append("  ").append(quote("organ:" + node.name())).append(" [shape=box, label=")
          .append(quote(node.name())).append("];\n");
    }
    for (Node node : organs) {
      for (String type : sortedCopy(node.listensTo())) {
        sb.append("  ").append(quote(type)).append(" -> ")
            .append(quote("organ:" + node.name())).append(";\n");
      }
      for (String type : sortedCopy(node.emits())) {
        sb.append("  ").append(quote("organ:" + node.name())).append(" -> ")
            .append(quote(type)).append(";\n");
      }
    }
    return sb.append("}\n").toString();
  }

  /**
   * The graph as an AsyncAPI 3.0 document (JSON): the stream or topic as one channel, a
   * message per event type with the four-field envelope as its schema and, where an organ
   * declared a payload class ({@link Organ#payloadTypes()}), that class's JSON schema as the
   * payload's (else any object), and an operation per organ and direction ({@code receive} for
   * what it listens to, {@code send} for what it declares it emits).
   *
   * @param title the document's title, e.g. the application's name
   * @param version the application's version
   * @param address the channel's address: the stream key or topic name
   */
  public String toAsyncApi(String title, String version, String address) {
    return AsyncApiDocument.of(this, title, version, address);
  }

  /** Every event type in the graph, in first-seen order (listened types before emitted). */
  List<String> eventTypes() {
    return List.copyOf(typeIds().keySet());
  }

  private Map<String, String> typeIds() {
    Map<String, String> ids = new LinkedHashMap<>();
    for (Node node : organs) {
      for (String type : sortedCopy(node.listensTo())) {
        ids.computeIfAbsent(type, t -> "t" + ids.size());
      }
      for (String type : sortedCopy(node.emits())) {
        ids.computeIfAbsent(type, t -> "t" + ids.size());
      }
    }
    return ids;
  }

  private static Set<String> ordered(Set<String> types) {
    return types == null ? Set.of() : types;
  }

  private static List<String> sortedCopy(Set<String> types) {
    List<String> list = new ArrayList<>(types);
    list.sort(null);
    return list;
  }

  /**
   * A quoted Mermaid label: unquoted, characters such as the parentheses of {@code on(GREET)}
   * are shape syntax and break the diagram. Quotes inside become the {@code #quot;} entity.
   */
  private static String mermaidLabel(String s) {
    return '"' + s.replace("\"", "#quot;") + '"';
  }

  private static String quote(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
