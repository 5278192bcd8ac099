#!/usr/bin/env python3
"""Regenerates the seed corpora of the fuzz targets from the golden fixtures.

    tests/fuzz/make_seeds.py OUT_DIR                 # candidate seeds, one folder per target
    tests/fuzz/make_seeds.py OUT_DIR --merge BUILD   # then keep only those that add coverage
                                                     # (libFuzzer -merge, BUILD = build-fuzz)

With --merge the minimised seeds replace tests/fuzz/corpus/<target>/ (names kept; hand-added
regression_* inputs stay). Inputs the fuzzers found later are added by hand; crashers never go
here but to tests/fuzz/crashes/<target>/ until they are fixed.
"""

import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "transform"
SEP = "\n----8<----\n"  # fuzz_support.hpp: part_separator


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def load(path):
    return json.loads(path.read_text())


def fmt_of(model):
    """Chat format the fuzz config resolves `model` to (fuzz_support.hpp: fuzz_config)."""
    if model == "command-v2" or model.startswith(("cohere.command-a-vision", "cohere.command-a-reasoning")):
        return "coherev2"
    if model in ("cohere", "embed") or model.startswith("cohere."):
        return "cohere"
    return "generic"


def chat_seeds():
    """Candidate seeds per chat format: fixtures (requests, errors, response requests) plus
    hand-written ones for tool-call arguments (JSON in a string) and schemas with $ref."""
    seeds = {"generic": {}, "cohere": {}, "coherev2": {}}
    for sub in ("requests", "errors"):
        for p in sorted((FIX / sub).glob("*.openai.json")):
            raw = p.read_bytes()
            try:
                model = json.loads(raw).get("model", "")
                body = compact(json.loads(raw))
            except (ValueError, AttributeError):
                model, body = "", raw  # invalid JSON (or UTF-8) fixtures stay as they are
            f = fmt_of(model) if isinstance(model, str) else "generic"
            seeds[f][f"{sub}_{p.name[:-len('.openai.json')]}"] = body
    user = {"role": "user", "content": "x"}

    def call(i, args):
        return {"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": args}}

    history = [
        user,
        {"role": "assistant", "content": None, "tool_calls": [call(1, "{}"), call(2, "{}")]},
        {"role": "tool", "tool_call_id": "c1", "content": "r1"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "r2"}]},
    ]
    schema = {
        "type": "object",
        "$defs": {
            "Unit": {"type": "string", "enum": ["C", "F"]},
            "Loc": {"type": "object", "properties": {"unit": {"$ref": "#/$defs/Unit"}},
                    "required": ["unit"]},
        },
        "properties": {
            "loc": {"$ref": "#/$defs/Loc", "description": "where"},
            "alt": {"anyOf": [{"type": "null"}, {"$ref": "#/definitions/N"}]},
            "all": {"allOf": [{"$ref": "#/$defs/Loc"}, {"type": "object"}]},
            "list": {"type": ["array", "null"], "prefixItems": [{"$ref": "#/$defs/Unit"}]},
        },
        "definitions": {"N": {"type": "integer", "exclusiveMinimum": 0}},
        "required": ["loc", "alt"],
    }
    tools = [{"type": "function", "function": {"name": "f", "description": "d",
                                                 "parameters": schema}}]
    for f, model in (("generic", "meta.llama-3.3-70b-instruct"),
                     ("cohere", "cohere.command-r-08-2024"),
                     ("coherev2", "cohere.command-a-vision-07-2025")):
        s = seeds[f]
        base = {"model": model, "messages": history, "tools": tools}
        # Arguments as separate parts: the harness puts them into the tool calls in turn.
        s["args_parts"] = compact(base) + SEP + '{"city":"Paris","n":[1,{"a":null}]}' + SEP + \
            '{"deep":{"a":[{"b":{"c":[true,false,"\\u00e9"]}}]}}'
        s["args_not_object"] = compact(base) + SEP + '[1,2]' + SEP + '"s"'
        s["args_invalid"] = compact(base) + SEP + '{"a":' + SEP + '{"a":1}trailing'
        s["args_inline"] = compact(dict(base, messages=[
            user, {"role": "assistant", "tool_calls": [call(1, '{"a":{"b":[1,2,{"c":"d"}]}}')]},
            {"role": "tool", "tool_call_id": "c1", "content": "{\"ok\":true}"}]))
        s["response_format_ref"] = compact({
            "model": model, "messages": [user],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "answer", "strict": True, "schema": schema}}})
        s["tool_choice_required"] = compact(dict(base, messages=[user], tool_choice="required",
                                                 parallel_tool_calls=True))
        # Many properties, all required (COHERE's parameterDefinitions).
        props = {f"p{i}": {"type": "string", "description": f"d{i}"} for i in range(40)}
        s["many_required"] = compact({"model": model, "messages": [user], "tools": [
            {"type": "function", "function": {"name": "g", "parameters": {
                "type": "object", "properties": props, "required": sorted(props)}}}]})
    return seeds


def stream_seeds():
    """Header (format, request flags, split seed) + OCI SSE bytes: fixtures plus hostile ones."""
    seeds = {}
    for i, p in enumerate(sorted((FIX / "streams").glob("*.sse"))):
        meta = load(p.with_suffix("").with_suffix(".meta.json"))
        f = {"generic": 0, "cohere": 1, "coherev2": 2}[fmt_of(meta["model"])]
        flags = (meta.get("n", 1) - 1) | (4 if meta.get("include_usage") else 0)
        seeds[p.stem] = bytes([f, flags, i]) + p.read_bytes()

    def sse(*events):
        return "".join(f"data: {e if isinstance(e, str) else compact(e)}\n\n" for e in events)

    usage = {"usage": {"promptTokens": 1, "completionTokens": 2, "totalTokens": 3}}
    nested = {"a": [{"b": {"c": [1, 2, {"d": None}]}}]}
    hostile = {
        # GENERIC tool call whose arguments are a JSON value, not a string.
        "generic_object_args": (0, 4, sse(
            {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [
                {"id": "t1", "type": "FUNCTION", "name": "f", "arguments": nested}]}},
            {"index": 0, "finishReason": "tool_calls"}, usage)),
        # COHERE calls with nested parameters, then again (taken once).
        "cohere_nested_params": (1, 4, sse(
            {"apiFormat": "COHERE", "text": "t"},
            {"apiFormat": "COHERE", "toolCalls": [{"name": "f", "parameters": nested},
                                                  {"name": "g", "parameters": [nested]}]},
            {"apiFormat": "COHERE", "toolCalls": [{"name": "h"}], "finishReason": "COMPLETE"},
            usage)),
        # Choices out of range, format switches mid-stream, finish twice, error reasons.
        "index_and_format_games": (0, 1 | 4, sse(
            {"index": 1, "message": {"content": [{"type": "TEXT", "text": "b"}]}},
            {"index": 0, "apiFormat": "COHEREV2", "message": {"content": [
                {"type": "THINKING", "thinking": "hm"}, {"type": "TEXT", "text": "a"}]}},
            {"index": 0, "finishReason": "stop"}, {"index": 0, "finishReason": "length"},
            {"index": 1, "apiFormat": "COHERE", "text": "late", "finishReason": "MAX_TOKENS"},
            {"index": 18446744073709551615}, usage)),
        "error_variants": (2, 0, sse(
            {"message": {"content": [{"type": "TEXT", "text": "x"}]}},
            {"code": 429, "message": "slow down"}, {"error": {"message": "boom"}})),
        "finish_error": (0, 0, sse({"index": 0, "finishReason": "ERROR"})),
        # Framing: CRLF, comments, other fields, `data:` without a space, a line too long
        # for the 512-byte bound, invalid UTF-8.
        "framing": (0, 2 << 3, ": hi\r\nevent: x\r\ndata:{\"index\":0,\"message\":{\"content\":"
                    "[{\"type\":\"TEXT\",\"text\":\"a\"}]}}\r\n\r\nid: 1\nretry: 5\n"
                    "data: {\"index\":0,\"finishReason\":\"stop\",\"x\":\"" + "y" * 600 + "\"}\n\n"),
        "bad_utf8": (1, 0, b'data: {"apiFormat":"COHERE","text":"\xc3\x28"}\n\n'),
        "done_marker": (0, 4, sse({"index": 0, "finishReason": "stop"}, "[DONE]", usage)),
        "tool_fragments": (0, 0, sse(
            {"message": {"toolCalls": [{"type": "FUNCTION", "name": "f", "arguments": "{\"a\":"}]}},
            {"message": {"toolCalls": [{"type": "FUNCTION", "arguments": "1}"}]}},
            {"message": {"toolCalls": [{"type": "FUNCTION", "name": "f", "arguments": "{}"}]}},
            {"message": {"toolCalls": [{"id": "z", "function": {"name": "g", "arguments": "[]"}}]}},
            {"finishReason": "tool_calls"})),
    }
    for name, (f, flags, body) in hostile.items():
        data = body if isinstance(body, bytes) else body.encode()
        seeds["hostile_" + name] = bytes([f, flags, len(name)]) + data
    return seeds


def embeddings_seeds():
    seeds = {}
    for p in sorted((FIX / "embeddings").glob("*.openai.json")):
        stem = p.name[:-len(".openai.json")]
        body = compact(load(p))
        seeds[stem] = body
        results = load(FIX / "embeddings" / f"{stem}.oci_results.json")
        seeds[stem + "_answers"] = SEP.join([body] + [compact(r) for r in results])
    inputs = [f"t{i}" for i in range(97)]
    seeds["two_batches"] = compact({"model": "embed", "input": inputs, "encoding_format": "base64"})
    seeds["two_batches_answers"] = SEP.join([
        compact({"model": "embed", "input": inputs}),
        compact({"embeddings": [[0.5]] * 96, "usage": {"promptTokens": 96, "totalTokens": 96}}),
        compact({"embeddings": [[1.5, -2]], "inputTextTokenCounts": [1]})])
    seeds["bad_answer"] = SEP.join([
        compact({"model": "cohere.embed-v4.0", "input": ["a", "b"], "encoding_format": "base64"}),
        compact({"embeddings": [[1e30, "x"], {"a": 1}]})])
    seeds["token_arrays"] = compact({"model": "embed", "input": [[1, 2], [3]]})
    seeds["errors"] = compact({"model": "embed", "input": ["a", ""], "encoding_format": "hex",
                               "dimensions": 0, "input_type": "nope", "truncate": "middle"})
    return seeds


def schema_seeds():
    """Schemas as requests carry them: every tool `parameters` and `json_schema.schema` of the
    fixtures, plus hand-written $ref, anyOf/allOf and type-list cases."""
    seeds = {}

    def walk(name, body):
        if not isinstance(body, dict):
            return
        for i, t in enumerate(body.get("tools") or []):
            params = isinstance(t, dict) and (t.get("function") or {}).get("parameters")
            if isinstance(params, dict):
                seeds[f"{name}_tool{i}"] = compact(params)
        rf = body.get("response_format")
        if isinstance(rf, dict) and isinstance(rf.get("json_schema"), dict):
            s = rf["json_schema"].get("schema")
            if isinstance(s, dict):
                seeds[f"{name}_response_format"] = compact(s)

    for sub in ("requests", "errors"):
        for p in sorted((FIX / sub).glob("*.openai.json")):
            try:
                walk(p.name[:-len(".openai.json")], json.loads(p.read_bytes()))
            except ValueError:
                pass
    seeds["root_ref"] = compact({"$ref": "#", "type": "object"})
    seeds["chain"] = compact({"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/C"},
                                        "C": {"type": "array"}},
                              "properties": {"x": {"$ref": "#/$defs/A", "title": "t"}}})
    # Fan-out: each level refers to the next twice (expansion budget).
    defs = {f"L{i}": {"type": "object", "properties": {"a": {"$ref": f"#/$defs/L{i + 1}"},
                                                         "b": {"$ref": f"#/$defs/L{i + 1}"}}}
            for i in range(6)}
    defs["L6"] = {"type": "string"}
    seeds["fan_out"] = compact({"$defs": defs, "$ref": "#/$defs/L0"})
    seeds["unresolvable"] = compact({"properties": {"a": {"$ref": "#/$defs/x/y"},
                                                    "b": {"$ref": "http://e/s"}}})
    seeds["combinators"] = compact({
        "oneOf": [{"type": "null"}, {"type": ["null", "object"], "properties": {"k": True}}],
        "allOf": [{"required": ["k"]}, False, {"additionalProperties": {"$ref": "#"}}],
        "items": [{"type": "string"}], "not": {"type": "null"}, "contains": {"const": 1},
        "patternProperties": {"^x": {"default": None, "$comment": "c", "$id": "i"}},
        "exclusiveMaximum": 3, "$schema": "s"})
    return seeds


def config_seeds():
    seeds = {"demo": (ROOT / "config" / "demo.yaml").read_text()}
    prod = (ROOT / "config" / "oci-genai-proxy.yaml").read_text()
    seeds["production_example"] = prod.replace("/etc/oci-genai-proxy/api-keys", "FUZZTMP/keys.txt")
    seeds["every_key"] = """listen: "[::1]:9000"
threads: 4
oci:
  region: iad
  compartment_id: ocid1.compartment.oc1..x
  auth: api_key
  config_file: FUZZTMP/oci-config
  profile: DEV
  endpoint: https://inference.example.com
  ca_file: FUZZTMP/ca.pem
  metadata_url: http://169.254.169.254/opc/v2
  federation_url: https://auth.example.com
  models_discovery: yes
clients:
  api_keys: [sk-a, "sk-b"]
  api_keys_file: FUZZTMP/keys.txt
  allow_anonymous: false
models:
  - {name: a, id: cohere.command-a-03-2025, format: COHEREV2, compartment_id: ocid1.compartment.oc1..y}
  - {name: e, id: cohere.embed-v4.0, input_type: search_query}
  - {name: d, id: ocid1.generativeaiendpoint.oc1.x}
defaults: {max_tokens: 10, temperature: 0.5, top_p: 1, frequency_penalty: -2, presence_penalty: 2, top_k: 5}
limits: {max_body_bytes: 1048576, max_header_bytes: 8192, max_header_count: 50, max_uri_bytes: 2048,
         max_connections: 10, max_requests_per_connection: 5, max_inflight_upstream: 3, max_json_depth: 32}
timeouts: {request_header: 2s, request_body: 500ms, keepalive_idle: 1m, drain: 0.5, write_stall: 3,
           upstream_connect: 1h, upstream_first_byte: "10 s", upstream_stream_idle: 60}
log: {level: debug, format: json, access_log: off}
"""
    seeds["env_only"] = "# nothing in the file\n" + SEP + "\n".join([
        "OGP_COMPARTMENT_ID=ocid1.compartment.oc1..env", "OGP_API_KEYS=sk-1, sk-2",
        "OGP_LISTEN=0.0.0.0:80", "OGP_THREADS=2", "OGP_AUTH=resource_principal",
        "OGP_LOG_FORMAT=json", "OGP_ALLOW_ANONYMOUS=true", "OGP_REGION=us-ashburn-1",
        "OCI_CONFIG_FILE=FUZZTMP/oci", "OGP_API_KEYS_FILE=FUZZTMP/keys.txt",
        "OCI_DEFAULT_REALM=oraclecloud.com", "OGP_CA_FILE=FUZZTMP/ca.pem"])
    seeds["errors"] = """listen: nowhere
threads: -1
oci: {auth: magic, compartment_id: x y, region: "", endpoint: ftp://x, ca_file: FUZZTMP/sub}
clients: {api_keys: ["has space", ""], api_keys_file: FUZZTMP/missing}
models: [{name: a, id: x}, {name: a, id: "y z"}, {id: only}, 3]
defaults: {temperature: 9, max_tokens: zero}
timeouts: {drain: 5 fortnights}
log: {level: loud}
typo: 1
"""
    seeds["anchors"] = """base: &m {id: meta.llama-3.3-70b-instruct}
oci: {compartment_id: ocid1.compartment.oc1..a}
clients: {allow_anonymous: true}
models: [{<<: *m, name: one}, *m, [*m, *m]]
"""
    seeds["not_a_map"] = "- just\n- a list\n"
    seeds["bad_yaml"] = "oci: {compartment_id: [unclosed\n\t- tab"
    return seeds


def responses_seeds():
    """Candidate seeds for fuzz_responses: the Responses request fixtures, plus the hand-written
    seeds already in the corpus (error cases, argument parts), which have no fixture."""
    seeds = {}
    for p in sorted((FIX / "responses" / "requests").glob("*.openai.json")):
        seeds[f"fixture_{p.name[:-len('.openai.json')]}"] = compact(load(p))
    for p in sorted((ROOT / "tests" / "fuzz" / "corpus" / "responses").glob("*")):
        seeds.setdefault(p.name, p.read_bytes())
    return seeds


def write(out, target, seeds):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def merge(out, build):
    """Keeps the seeds that add coverage (libFuzzer -merge=1), under their names."""
    targets = {}
    for line in (build / "tests" / "fuzz" / "fuzz_targets.txt").read_text().splitlines():
        name, binary, corpus = line.split()
        targets[name[len("fuzz_"):]] = (binary, pathlib.Path(corpus))
    for cand in sorted(p for p in out.iterdir() if p.is_dir()):
        binary, corpus = targets[cand.name]
        by_hash = {hashlib.sha1(p.read_bytes()).hexdigest(): p for p in cand.iterdir()}
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([binary, "-merge=1", "-rss_limit_mb=2048", "-timeout=10", tmp,
                            str(cand)], check=True, capture_output=True)
            kept = [by_hash[p.name] for p in pathlib.Path(tmp).iterdir()]
        # Hand-added regression inputs (regression_*) stay whatever their coverage.
        kept += [p for p in corpus.glob("regression_*") if p.name not in by_hash]
        keep_dir = pathlib.Path(tempfile.mkdtemp())
        for p in kept:
            shutil.copy(p, keep_dir / p.name)
        kept = list(keep_dir.iterdir())
        shutil.rmtree(corpus, ignore_errors=True)
        corpus.mkdir(parents=True)
        for p in kept:
            shutil.copy(p, corpus / p.name)
        shutil.rmtree(keep_dir)
        print(f"{cand.name}: kept {len(kept)} of {len(by_hash)}")


def main():
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != "--merge"):
        sys.exit(__doc__)
    out = pathlib.Path(sys.argv[1])
    for f, seeds in chat_seeds().items():
        write(out, f"chat_{f}", seeds)
    write(out, "stream_transcoder", stream_seeds())
    write(out, "responses", responses_seeds())
    write(out, "embeddings", embeddings_seeds())
    write(out, "schema", schema_seeds())
    write(out, "config", config_seeds())
    if len(sys.argv) == 4:
        merge(out, pathlib.Path(sys.argv[3]))


if __name__ == "__main__":
    main()
