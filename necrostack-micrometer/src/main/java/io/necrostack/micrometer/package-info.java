/**
 * Micrometer metrics for NecroStack: {@link io.necrostack.micrometer.NecroStackMetrics} times
 * each handling and binds a Spine's counters and its backend's figures to a registry.
 */
package io.necrostack.micrometer;
