#include "core/text.hpp"

#include <doctest/doctest.h>

using namespace moexp::core;

TEST_CASE("text: edit_distance") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "abc") == 0);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("num_expert", "num_experts") == 1);
}

TEST_CASE("text: with_suggestion appends the did-you-mean tail only when there is a plausible candidate") {
  const std::vector<std::string> keys{"train.epochs", "moe.num_experts"};
  CHECK(with_suggestion("unknown key 'train.epoch'", "train.epoch", keys) ==
        "unknown key 'train.epoch' (did you mean 'train.epochs'?)");
  CHECK(with_suggestion("unknown key 'zzz'", "zzz", keys) == "unknown key 'zzz'");
}

TEST_CASE("text: did_you_mean picks the closest plausible candidate") {
  std::vector<std::string> keys{"moe.num_experts", "moe.k", "train.epochs"};
  CHECK(did_you_mean("moe.num_expert", keys) == std::optional<std::string>("moe.num_experts"));
  CHECK(did_you_mean("train.epoch", keys) == std::optional<std::string>("train.epochs"));
  CHECK_FALSE(did_you_mean("completely.different", keys).has_value());
}

TEST_CASE("text: join_alternatives and split") {
  CHECK(join_alternatives({"a", "b", "c"}) == "'a', 'b' or 'c'");
  CHECK(join_alternatives({"a"}, false) == "a");
  CHECK(split("a,,b", ',') == std::vector<std::string>{"a", "", "b"});
}

TEST_CASE("text: valid_utf8 accepts well-formed UTF-8 and nothing else") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // 2, 3 and 4 bytes
  CHECK(valid_utf8("\xf4\x8f\xbf\xbf"));                           // U+10FFFF
  CHECK_FALSE(valid_utf8("\xac"));                                 // a lone continuation byte
  CHECK_FALSE(valid_utf8("\xc3"));                                 // truncated
  CHECK_FALSE(valid_utf8("\xe2\x82"));
  CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(valid_utf8("\xff"));
}

TEST_CASE("text: is_unsigned_integer tells a run id or a count from a path") {
  CHECK(is_unsigned_integer("7"));
  CHECK(is_unsigned_integer("000123"));
  CHECK(is_unsigned_integer("123456789012345678"));
  CHECK_FALSE(is_unsigned_integer("1234567890123456789"));  // past what std::stoll is sure to take
  CHECK_FALSE(is_unsigned_integer(""));
  CHECK_FALSE(is_unsigned_integer("-1"));
  CHECK_FALSE(is_unsigned_integer("+1"));
  CHECK_FALSE(is_unsigned_integer("1.0"));
  CHECK_FALSE(is_unsigned_integer("runs/1/checkpoint.pt"));
  CHECK_FALSE(is_unsigned_integer(" 1"));
}
