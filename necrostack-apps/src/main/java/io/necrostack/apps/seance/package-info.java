/**
 * The Séance demo: a four-stage event chain ({@code SUMMON_RITUAL → SPIRIT_APPEARED →
 * ANSWER_GENERATED → OMEN_REVEALED}) whose randomness comes from a seed carried in the events.
 * Start with {@link io.necrostack.apps.seance.SeanceApp}.
 */
package io.necrostack.apps.seance;
