package io.necrostack.testing;

import io.necrostack.backend.Backend;
import io.necrostack.backend.InMemoryBackend;

/** The in-memory backend passes the conformance suite. */
class InMemoryBackendConformanceTest extends BackendConformanceTest {

  @Override
  protected Backend newBackend() {
    return new InMemoryBackend();
  }

  @Override
  protected BackendFeatures features() {
    return BackendFeatures.inMemory();
  }
}
