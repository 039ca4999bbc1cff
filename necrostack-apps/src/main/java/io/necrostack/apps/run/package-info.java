/**
 * Running a demo chain to its end on any backend: a time bound, and hooks around the Spine
 * (metrics) that the command line plugs in.
 */
package io.necrostack.apps.run;
