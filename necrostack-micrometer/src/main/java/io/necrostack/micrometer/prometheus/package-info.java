/**
 * A Prometheus scrape endpoint on the JDK's HTTP server; needs {@code
 * io.micrometer:micrometer-registry-prometheus} on the class path (an optional dependency).
 */
package io.necrostack.micrometer.prometheus;
