"""`mcp_client.names`: tool names every provider accepts, clear of the plugins' and of each other."""

from parley_runtime.mcp_client import names


def test_safe_names_keep_what_providers_accept_and_replace_the_rest() -> None:
    assert names.safe("lookup_weather-2") == "lookup_weather-2"
    assert names.safe("files.read") == "files_read"
    assert names.safe("天气 now") == "___now"
    assert names.safe("") == "_"
    assert len(names.safe("x" * 100)) == names.TOOL_NAME_MAX == 64


def test_unique_names_are_kept_as_the_server_spells_them() -> None:
    assigned, left_out = names.assign(set(), {"docs": ["search", "fetch"], "fs": ["read_file"]})
    assert assigned == {
        "search": ("docs", "search"),
        "fetch": ("docs", "fetch"),
        "read_file": ("fs", "read_file"),
    }
    assert left_out == []


def test_a_clash_between_servers_prefixes_every_tool_of_that_name() -> None:
    assigned, _ = names.assign(set(), {"docs": ["search", "fetch"], "web": ["search"]})
    assert assigned == {
        "docs_search": ("docs", "search"),
        "web_search": ("web", "search"),
        "fetch": ("docs", "fetch"),
    }


def test_a_plugin_tool_keeps_its_name_and_the_mcp_tool_is_prefixed() -> None:
    assigned, _ = names.assign({"current_time"}, {"clock": ["current_time", "timezones"]})
    assert assigned == {"clock_current_time": ("clock", "current_time"), "timezones": ("clock", "timezones")}


def test_the_server_name_reaches_the_model_safe_and_within_64_characters() -> None:
    long_tool = "t" * 70
    assigned, _ = names.assign({names.safe(long_tool)}, {"srv": [long_tool, "a.b"]})
    assert assigned == {"srv_" + "t" * 60: ("srv", long_tool), "a_b": ("srv", "a.b")}


def test_a_name_taken_even_with_the_prefix_is_left_out_and_reported() -> None:
    # The plugin owns both the plain and the prefixed name; two tools of one server become one name.
    assigned, left_out = names.assign({"search", "docs_search"}, {"docs": ["search", "a.b", "a_b"]})
    assert assigned == {"docs_a_b": ("docs", "a.b")}
    assert left_out == [("docs", "search"), ("docs", "a_b")]
