/**
 * The {@code necrostack} command line (picocli): {@code seance}, {@code etl} and {@code graph}.
 * Human output on stdout, JSON-line logs on stderr (Logback), exit codes 0, 1 and 2. The entry
 * point is {@link io.necrostack.apps.cli.Main}.
 */
package io.necrostack.apps.cli;
