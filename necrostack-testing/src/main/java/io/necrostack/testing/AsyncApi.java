package io.necrostack.testing;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.NonValidationKeyword;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Checks documents against the AsyncAPI 3.0.0 JSON schema (bundled: the specification's own,
 * from {@code @asyncapi/specs} 6.11.1), and JSON values against a JSON schema (draft 07, the
 * base of AsyncAPI's schema format), for tests of the AsyncAPI export.
 */
public final class AsyncApi {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  /**
   * Draft 07, and AsyncAPI's {@code example} keyword as documentation: the validator would
   * warn about it on every load otherwise.
   */
  private static final SchemaRegistry DRAFT_7 = SchemaRegistry.withDefaultDialect(
      Dialect.builder(Dialects.getDraft7()).keyword(new NonValidationKeyword("example"))
          .build());
  private static final Schema SPECIFICATION = load();

  private AsyncApi() {}

  /** What makes the document an invalid AsyncAPI 3.0.0 document; empty if it is valid. */
  public static List<String> problems(String document) {
    return describe(SPECIFICATION.validate(JSON.readTree(document)));
  }

  /** What makes the value not match the schema (both JSON); empty if it matches. */
  public static List<String> problems(JsonNode schema, JsonNode value) {
    return describe(DRAFT_7.getSchema(schema).validate(value));
  }

  /** Parses JSON text, for picking a schema out of a document. */
  public static JsonNode parse(String json) {
    return JSON.readTree(json);
  }

  private static List<String> describe(List<Error> errors) {
    return errors.stream().map(Error::toString).toList();
  }

  private static Schema load() {
    try (InputStream in = AsyncApi.class.getResourceAsStream("asyncapi-3.0.0.schema.json")) {
      if (in == null) {
        throw new IllegalStateException("asyncapi-3.0.0.schema.json is missing from the jar");
      }
      return DRAFT_7.getSchema(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
