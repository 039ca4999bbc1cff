/**
 * The {@code necrostack} command line (picocli): the apps {@code seance} and {@code etl} (in
 * memory or through Redis Streams, with an optional Prometheus endpoint), {@code graph}, and
 * the Redis operations {@code dlq list|replay|purge}, {@code health} and {@code stats}. Human
 * output on stdout, JSON-line logs on stderr (Logback), exit codes 0, 1 and 2; see {@code
 * docs/CLI.md}. The entry point is {@link io.necrostack.apps.cli.Main}.
 */
package io.necrostack.apps.cli;
