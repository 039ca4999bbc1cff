/**
 * OpenTelemetry tracing for NecroStack: {@link io.necrostack.opentelemetry.TracingObserver}
 * makes a span per handling and carries the W3C trace context in event metadata.
 */
package io.necrostack.opentelemetry;
