#pragma once

// Private: the OCI ChatDetails writers, one per chat format, and the parts they share. A
// writer takes a request that parse_chat_request validated for its format and cannot fail.

#include "json_util.hpp"
#include "ogp/transform/chat_request_types.hpp"

namespace ogp::transform::detail {

/// Writes `compartmentId`, `servingMode`, opens `chatRequest` and writes its `apiFormat`.
void begin_chat_details(json_writer& w, const resolved_model& m);

/// Content as OCI parts: `TEXT` and, in user turns, images typed `image_type` and (GENERIC
/// only) documents.
void write_parts(json_writer& w, const chat_content& c, const char* image_type);

/// `messages` in GENERIC's shape. COHEREV2 (`generic` false) spells it its own way: developer
/// turns are SYSTEM, images IMAGE_URL, tool calls nest a `function` object, an assistant turn
/// without text has no `content`, and names and earlier reasoning are dropped.
void write_messages(json_writer& w, const chat_request& req, bool generic);

/// `tools`: one object per function tool (OCI has no other kind) that `tool_choice`
/// allowed_tools does not leave out, its members from `body`.
template <class Body>
void write_function_tools(json_writer& w, const chat_request& req, Body&& body)
{
    w.Key("tools");
    w.StartArray();
    for (const chat_tool& t : req.tools) {
        if (t.type == chat_tool::kind::function && t.allowed) {
            w.StartObject();
            body(t);
            w.EndObject();
        }
    }
    w.EndArray();
}

/// A tool's `type`, `name`, `description` and `parameters`; COHEREV2 (`generic` false) nests
/// all but `type` in a `function` object.
void write_function_tool(json_writer& w, const chat_tool& t, bool generic);

/// `responseFormat`; GENERIC has JSON_SCHEMA, the Cohere formats put a schema in JSON_OBJECT.
void write_response_format(json_writer& w, const chat_response_format& rf, bool generic);

/// Streaming, length (always sent: OCI's own default truncates at about 20 tokens), the
/// sampling parameters with the configured defaults, and stop sequences.
void write_generation(json_writer& w, const chat_request& req, const config& cfg, bool generic);

/// The chatRequest members after `apiFormat`, in each format's spelling.
void write_chat_generic(json_writer& w, const chat_request& req, const config& cfg);
void write_chat_cohere(json_writer& w, const chat_request& req, const config& cfg);
void write_chat_coherev2(json_writer& w, const chat_request& req, const config& cfg);

/// The whole chat_plan of a validated request: the OCI body in the model's format and what
/// the answer's translation needs.
chat_plan make_chat_plan(const chat_request& req, const config& cfg);

}  // namespace ogp::transform::detail
