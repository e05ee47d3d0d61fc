"""Which litellm functions each feature reproduces, and the sources of them it reproduces exactly.

A feature replaces litellm functions with native code that does what litellm's code does, so it
may run only where litellm's code is code we have checked.  The version number says little
(litellm ships weekly, and its long-term-support line backports), so each function is recognised
by the SHA-256 of its source (``inspect.getsource``).  Where any function a feature reproduces has
a source not listed here, the feature's sites stay litellm's and ``status`` names the function;
nothing is patched blindly.  Other features are unaffected.

A source joins a list only after the differential suites passed against that litellm (the
versions are named at each hash).  Finer guards sit where a feature can leave part of its work to
litellm on its own: the tools renderer (``tools_format.LITELLM_RENDERER_SHA256``: requests with
``tools`` go to litellm) and the C entry's model rules (``token_counter._MODEL_RULES``:
litellm's functions are called).
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from typing import Any

__all__ = ["ABSENT", "GUARDED_MODULES", "REPRODUCED", "check_feature"]

_UTILS = "litellm.utils"
_TC = "litellm.litellm_core_utils.token_counter"

# Versions at each hash: 1.106.2, 1.106.12 and 1.108.14 share the sources marked _V106, and
# 1.109.3 and 1.110.2 those marked _V109.
_V106 = "1.106.2-1.108.14"
_V109 = "1.109.3-1.110.2"
# A function that litellm before 1.109 does not have: its absence is as checked as its source.
ABSENT = "absent"


def _new_in_1109(digest: str) -> dict[str, str]:
    return {ABSENT: "1.106.2-1.108.14", digest: _V109}


REPRODUCED: dict[str, dict[tuple[str, str], dict[str, str]]] = {
    # litellm.utils.encode / decode with the tokenizer litellm selects (cl100k_base unless
    # huggingface_tokenizer_kind, called live, names a HuggingFace tokenizer).
    "tokenizer": {
        (_UTILS, "encode"): {"4b6f2f18b31220de0016dce46e46de1968133852737e4e4a33c0e454cbf5b797": _V106},
        (_UTILS, "decode"): {"e2505c2ce9f1ba3e52d682d4a76ed4e53313b14681a1e1fb1e470c8601cc4d81": _V106},
        (_UTILS, "select_tokenizer"): {
            "efddb09f2b75e7ace178a99eea528dc9b47a4381a03365758e1f817e14186c85": _V106},
        (_UTILS, "_select_tokenizer_helper"): {
            "e7d9bb80eb5e581eb8d880b91213d82e77d88460e0dcc74b476453d5a9e353c4": _V106,
            # 1.109: a remembered HuggingFace load failure also falls back to tiktoken, and the warning
            # moved to a helper; a model whose huggingface_tokenizer_kind is None still gets
            # _return_openai_tokenizer, and every other one is litellm's own call.
            "08f73e2713db89f26e1a8e93895937cc5084e53db37b99d1dde9dca83d51d4e1": "1.109.3-1.110.2",
        },
        (_UTILS, "_return_openai_tokenizer"): {
            "213a9166d10fb8414bc2af59cd4280d6678321f0c45d66b7e9d7c0b794441abd": "1.106.2-1.110.2"},
        (_UTILS, "get_default_encoding"): {
            "ea1123802a05ec619e8e47077a610cbd9d4b81e28dfc14293ef88351b5316b4f": "1.106.2-1.110.2"},
    },
    # token_counter's walk, its slices and limit, the model -> encoding rule, the Anthropic
    # tokenizer litellm loads (images, messages conversion and the model rules are called live).
    # 1.109 changed the rules (fast_litellm/adapters/token_counter.py follows both sets): the
    # encoding follows the name as written and litellm's tables, tool_choice, text blocks whose
    # text is falsy, compaction summaries, chat-template tools (litellm's), inline images.
    "token_counter": {
        (_UTILS, "token_counter"): {
            "1fe11ad74a98f0943134c7ed7f326fb86d02f1bd27b2b4689f8b4e5ab77e19e3": "1.106.2-1.110.2"},
        (_UTILS, "_select_tokenizer_helper"): {
            "e7d9bb80eb5e581eb8d880b91213d82e77d88460e0dcc74b476453d5a9e353c4": _V106,
            "08f73e2713db89f26e1a8e93895937cc5084e53db37b99d1dde9dca83d51d4e1": _V109},
        (_UTILS, "_return_huggingface_tokenizer"): {
            "ecc0dd6286d9bb5d6fe2af9390839be49bf89ec9c5a040d2c4a4de6ef815ac67": _V106,
            "928cfa64a53d684e6ea0e977f962d2c2593f29c099d2aba23db5d678fdf3ceeb": _V109},
        (_TC, "token_counter"): {
            "dbb5ae63deccd7cfaeff03f703549c0dd2e9666e20fe02b2da0049d00ba3fe38": _V106,
            "3d5cb5f0243edcffeddc8a3e2ca4e2bda8b5047cb1f7d228eb923e7d8443ad80": _V109},
        (_TC, "messages_reach_token_count"): {
            "22d50fb00e41c19f5708095761ece3d52310cb154fa3086dbc3e205b61bc2f7f": _V106,
            "46972db9ea4a0c2fbb058a386fe6a7b7d80649295b6a9f855e52645321f3308a": _V109},
        (_TC, "_MessageCountParams"): {
            "821f8560b1ec9784ca02b91c5b50d12621327e851ed8f01dcd5bc565e8d5c13a": _V106,
            "e813b494e68543089b6d3f294971d1e7660a7d3aa5cb8b646d700afcbda8ca91": _V109},
        (_TC, "_count_messages"): {
            "30b542104ebffdaee01adf552d8803f6906c3731d8c71c86edee2eaf51d2901e": _V106,
            "571af5aeb5bb25a0f125236d10fab13a9d084d88713489226594998e56ba2c57": _V109},
        (_TC, "_count_extra"): {
            "c7a388892e19b7fbeda0c9d376783d108dbb6a435c55acbfcb8f1e75e251ae2b": _V106,
            "91916b0256510cb826bcc2173c4fec1e831c6e1604e301f690777405b1754508": "1.109.3",
            # 1.110: a chat-template tool section may count tool_choice (those go to litellm anyway)
            "d47417f4efc5d18257bfaa986f9d46b985edb59efebd68c3b4213544206fecc8": "1.110.2"},
        (_TC, "_count_function_call_tokens"): {
            "f8601da1d6fa98870ba23eb4bd333b8c06233f3cf3ef395572aacde67f432a29": "1.106.2-1.110.2"},
        (_TC, "_count_content_list"): {
            "c706eea38ef9e6cbba660ed159146f58e2288fd6a75c63ecef6cc13420dc022f": "1.106.2-1.106.12",
            # 1.108: search_result blocks are counted (the walk leaves them, like tool_use, to litellm)
            # and unknown block types raise UnsupportedContentTypeError, a ValueError (litellm's own).
            "c9067c2159ecaa82117b426d61ee6cc1ed6ced50840434ee9b3f2e2a9f7602fe": "1.108.14",
            "d9331ed07ba32094b540de70e6c54b91da8385d3486a6d588c221846ef605b47": "1.109.3",
            # 1.110: Anthropic server-tool blocks are counted (litellm's, like tool_use)
            "1d88fc63447f9141cc5464ee58f14087b86365e4b32b984b7a10464980b7d243": "1.110.2",
        },
        (_TC, "_count_image_tokens"): {
            "832ad22490f15a1369e04eb4d387f967916f7662c4de573dcf6f18de778d24b0": "1.106.2-1.110.2"},
        # called live; the walk relies on it fetching nothing unless detail is "high" on a URL
        (_TC, "calculate_img_tokens"): {
            "f504caefb4c0241ca12fa4893b4c5b4920f73751c871747009635d45c01cce78": _V106,
            "dcc93600e18909adb378b9156c011ae4d9f9f1b206f4085e4a02cdfda22a1510": _V109},
        (_TC, "_get_count_function"): {
            "82360fef83dfe105f13780113c4c2ae4421de37523eeb27aa426c5ed4666f813": "1.106.2-1.110.2"},
        (_TC, "_get_tiktoken_count_function"): {
            "a12e4f7669fe3c1952e318a3a01a469a4a9c49ddcbc0249d92814cc95ef2d260": "1.106.2-1.110.2"},
        (_TC, "_get_extrapolating_count_function"): {
            "0d6ab191bf5ba56e02522ea4f3e64823c9ce5730f0da5673049280c1e24516bf": "1.106.2-1.110.2"},
        (_TC, "_get_exact_count_function"): {
            "e5d84ff5967917fda5e9fa674b1763dd29b602a9594823908c251892e7073886": _V106,
            "2329e494c055bacef2c39cdb8e43b51ace6146bb7e4e3faa8accae123b62fb4a": _V109},
        (_TC, "_encoding_count"): {
            "61f1ca86c6634694f8e80479ac1a31df1407fadf721c38a24409e29569a4c27e": "1.106.2-1.110.2"},
        (_TC, "_evenly_spaced_samples"): {
            "7290edb477b7d8420b6182b65deecb441b29a772458b836672f3cdc2f7baabac": "1.106.2-1.110.2"},
        # 1.106: reproduced (_encoding_name); 1.109: called once per name and table state, so
        # what it reads must be what token_counter._tables watches (its helpers below).
        (_TC, "openai_tokenizer_encoding_name"): {
            "61f4d840ce8a1270ad606c2d96ab56ca297cfebd8fb927a40b677397a92279d1": _V106,
            "af99cf67911be362831832b08a2c2f7bfe4c54c8bcf4fdf674eab534ec37f04b": _V109},
        (_TC, "openai_tokenizer_encoding"): {
            "94a4edeccfe5682c437097609790e753d07340f284bace89567bfa8655d7e013": "1.106.2-1.110.2"},
        (_TC, "uses_legacy_message_accounting"): {
            "776e6411605df10a18ba3476f77a88184510036a24cdd4194c5bfd322920ef91": "1.106.2-1.110.2"},
        (_TC, "_fix_model_name"): {
            "aa9458c1a9895c7f4d23b429462e08f3139f208c3318a2c0286d27b7ee5dd42c": "1.106.2-1.110.2"},
        # New in 1.109 (absent before it).
        (_TC, "_count_tool_choice"): _new_in_1109(
            "a5b80f403930820ec69e7db9dbe9ba728f6c7303be0bb562a0e67173ef7cc08a"),
        (_TC, "_count_tool_definitions"): _new_in_1109(
            "e8658f94e98996a0d4efbde9d40f6d5e719d1f21579ade7a2fb220dd920510cb"),
        (_TC, "_compaction_summaries"): _new_in_1109(
            "facc908787417011892a1e875bea617e030f58fb9c5b2e5a11d3140eb838c1bc"),
        (_TC, "_openai_model_name"): _new_in_1109(
            "73d5a7407ce28507902e245b83807ab74238e2b973d7a33b109cebab86cf71f9"),
        (_TC, "_listed_openai_model_name"): _new_in_1109(
            "f137cd715dcd6fa3e50728b25c8513fd2a8383663edc9bf30bcdaa897d26bef3"),
        (_TC, "_is_openai_cost_map_model"): _new_in_1109(
            "3ec2031502b836ca5b29f2e60eda454a426fb1f8b13da99fc3ef25057817d707"),
        (_TC, "_is_azure_openai_text_model"): _new_in_1109(
            "706edf8a7b4a0d97bf6bf8e9a6ca63831ea7afce54422feca08e42403e37b010"),
        (_TC, "_is_openai_model_name"): _new_in_1109(
            "e10a6422802c99910732dd2993462b4f933ffe8d4123f0e2cd2325f1e40f64c9"),
        (_TC, "_tiktoken_encoding_name"): _new_in_1109(
            "1bd651bd98da3e75d8d5a1650d4819ebcc08c56c3f1a7d055d8abf91ef0cfb0a"),
        (_TC, "_suffixed_variant_encoding_name"): _new_in_1109(
            "eef48a8aeba73b96834054925c628d45073775288aac7164b34ab90412c276ed"),
        (_TC, "_is_listed_non_chat_model"): _new_in_1109(
            "fdbf5119bbfce5771097299a87b44be5afd9afa816b0762651fff7aed085b000"),
        (_TC, "_cost_map_entry"): _new_in_1109(
            "bc1fee3903c246d97978ec432b3ebf2fc2d4fba88697cf3fbae07f8b831537d3"),
        (_TC, "_untyped_cost_map"): _new_in_1109(
            "13d481deaa2f39af0d56b60fa1475dacd81e7cc1a39a94d0b20063adaf3c720e"),
        (_TC, "_pdf_dictionary"): _new_in_1109(
            "9d022c4c669ba93db27de5a6ee07ae2d48d434fec658a47d9ca569de6650d3b5"),
        (_TC, "_is_azure_openai_chat_model"): _new_in_1109(
            "53df66651ec1a5d802056ac6b5a52efd470ffb1f42d12958dc60b64a2e449be4"),
        (_TC, "_azure_openai_chat_model_name"): _new_in_1109(
            "4c988d0984b35b2245103abeeb2bab6b2b5bfbf931a678664c0ca4d2f2dc849d"),
        (_TC, "_openai_deployment_name"): _new_in_1109(
            "6bce2b6240f10fd8c26525f6a63a6a95436e075855ae895f18b669dbde215990"),
        (_TC, "_versioned_openai_model_name"): _new_in_1109(
            "a5107ad6edff54aa8802b2cf3b4099ca6935fdeec75cd1ee8290d0701ce97480"),
        (_TC, "_tiktoken_o200k_model_name"): _new_in_1109(
            "cad83e9ff86543b8a5607861af30bd3a20a11c449489f111d793798fbfd9a2c1"),
        (_TC, "_is_openai_chat_model"): _new_in_1109(
            "e988d666f4b975c06e4c47d5f7b4151f2bcbb7fb7faba60c11d9f4230c3b9d9c"),
    },
}

_LATENCY = "litellm.router_strategy.lowest_latency"
_USAGE = "litellm.router_strategy.lowest_tpm_rpm"
_COST = "litellm.router_strategy.lowest_cost"
_WINDOWS = "litellm.router_utils.access_windows"
_V106_109 = "1.106.2-1.109.3"
_ALL = "1.106.2-1.110.2"
_LEAST_BUSY = "litellm.router_strategy.least_busy"

# The routing strategies (fast_litellm/router/strategies.py, native/pyrouter.c), one group per
# patched method, so that a changed strategy leaves only itself to litellm.  A name with a dot is
# looked up through the object before it: a class's attribute, or a name in a function's globals
# (litellm 1.106-1.108 keeps the pricing helpers in router_utils, 1.109+ in litellm_core_utils;
# the cost strategy's own globals reach both).
REPRODUCED.update({
    "router.shuffle": {
        ("litellm.router_strategy.simple_shuffle", "simple_shuffle"): {
            "07d7808fdefb6630a439991416b970fb7fd63c3ac336ff4823cb08a0ba9bd20a": _ALL},
        ("litellm.router_strategy.simple_shuffle", "_metric_weight"): {
            "79d5513f969decdab132fe3d3f6d5870e6aa9648a5b2096371c95335f3aed81e": _ALL},
    },
    # The filters in front of the strategy (fast_litellm/router/filters.py).
    "router.markers": {
        ("litellm.router", "Router._drop_strategy_markers"): {
            "981af087a44599ddbf0098b870f85d8eacf879c26dc434994a7da3c4d69de075": _V106},
        ("litellm.router", "Router._is_strategy_marker_deployment"): {
            "520404d551a40e2a778fe07f53d52b3644f8fea503241a4920753a6fcd197c58": _V106},
        ("litellm.router", "classify_strategy_router_model"): {
            "51d28c9f4982a76f45b940849321ad782608bb892e2f7dd8368abc1a44264c1f": _V106},
    },
    # fast_litellm/router/cache.py: a key the dict does not hold is None without a get_cache call
    # (get_cache's first test); every other key is litellm's get_cache.
    "router.batch": {
        ("litellm.caching.in_memory_cache", "InMemoryCache.batch_get_cache"): {
            "0d3daeeff23c04cfbb1f29f1467c418ac8cd420df097d8b7a934fe0fc2d2595d": _ALL},
        ("litellm.caching.in_memory_cache", "InMemoryCache.async_batch_get_cache"): {
            "b33251d65783067f753840c72ae8682a67d97d3070d5da0d12bbea6bcc2e5443": _ALL},
        ("litellm.caching.in_memory_cache", "InMemoryCache.get_cache"): {
            "448de700b1d84da52523b0edc51fe0e86c2c73031191d4ab6eb12d6f91db8b68": _V106,
            "95de469b15c02fc018b006d06ef15bb69534c6627c9584d515a2d951497fe305": _V109,
        },
        # what get_cache calls on the cache (router/cache.py pairs get_cache with the expiry test)
        ("litellm.caching.in_memory_cache", "InMemoryCache._is_key_expired"): {
            "2a65b89f690de489760835870515c08aabe00c4181c0300a779be681a30c83e1": _V106,
            "ef4db5ae89138285228b6bd52dfd9fbf331bb1d4047541eebb385f0afe0cc38b": _V109,
        },
        ("litellm.caching.in_memory_cache", "InMemoryCache.evict_element_if_expired"): {
            "795c13a6fbaecb9f718fdbbbcc806fd03f87aee3e28873d769a5e0fb44b0e188": _ALL},
        ("litellm.caching.in_memory_cache", "InMemoryCache._remove_key"): {
            "422077fddc0d40da597e96f9fd11d94adfad98dcdd68afa6c1be7e07f42c937e": _ALL},
    },
    # fast_litellm/router/usage.py: the keys and sums of the remaining-usage headers' read.
    "router.headers": {
        ("litellm.router", "Router.get_model_group_usage"): {
            "d487a7324c40cd087d4525aee83fc19b96a0134d40a13d2ca048d641c2b9f073": _V106},
    },
    "router.core_headers": {
        ("litellm.router_python_core", "PythonCore._core_get_model_group_usage"): {
            "7243850073867e093de46f7b697bd73421bc0e0658f4e9ea06a6075e5b95eedb": "1.109.3"},
    },
    # fast_litellm/router/cooldowns.py: the cooldown read of every deployment.
    "router.ids": {
        ("litellm.router", "Router.get_model_ids"): {
            "bc99a82159d67b0eaad8bd827162ede1f04ab16ea8a797044d8c95d892252d73": _V106},
    },
    "router.cooldowns": {
        ("litellm.router_utils.cooldown_cache", "CooldownCache.get_active_cooldowns"): {
            "7646d3cf53d3eecac842adf4d81e513f9886ced489e0395a77d7262452b83187": _V106_109},
        ("litellm.router_utils.cooldown_cache", "CooldownCache.async_get_active_cooldowns"): {
            "7d168b810eaaf363c70e7eef0b19307ed0f9a71de40d2de34d3bb7a2a74f97c4": _V106_109},
        ("litellm.router_utils.cooldown_cache", "CooldownCache.active_cooldowns_from_results"): {
            "920cb9daf4bb440215f5a3dd6b3b2d7af02289b1d882093908df6d605f3694bc": _V106_109},
        ("litellm.router_utils.cooldown_cache", "CooldownCache.get_cooldown_cache_key"): {
            "ca844861cac697bec04255f64d0f7e385865878420290f80d7c11c1b176fd0aa": _V106_109},
    },
    # fast_litellm/router/scoping.py: the team filter's list pass (the same on every line; what
    # precedes it differs, and stays litellm's) and the tag filter's per-group override.
    "router.team": {
        ("litellm.router_utils.common_utils", "filter_team_based_models"): {
            "db4ef39c74d385ba9b45754d3189695504ca39b4af357e294eaefc2eccc1bdd8": "1.106.2-1.106.12",
            "b363903c726dee8146ff8911357f83ef74fe6bace5e31aa106f37a74ae14ed84": "1.108.14"},
    },
    "router.core_team": {
        ("litellm.litellm_core_utils.routing_common_utils", "filter_team_based_models"): {
            "db4ef39c74d385ba9b45754d3189695504ca39b4af357e294eaefc2eccc1bdd8": "1.109.3",
            "8d65b79eb4f6560ab3caa30fb12a68ce40d2fd669a7de4072e15854e1f0404a5": "1.110.2"},
    },
    "router.tags": {
        ("litellm.router_strategy.tag_based_routing", "_chain_tag_filtering_override"): {
            "0765c0af95b637637936cd27b6475f9178fe9433107acd72b5c6a5a9df68df20": _V106,
            "1a26cf76e264fd319d009ea03c29a26f78280f59ea93f016f6d053e9d0b54125": _V109},
    },
    # fast_litellm/router/strategies.py make_usage_v2_select (its count differs on 1.110, as
    # strategies._token_count reproduces).
    "router.usage_v2": {
        ("litellm.router_strategy.lowest_tpm_rpm_v2", "LowestTPMLoggingHandler_v2._common_checks_available_deployment"): {
            "433d29393226631bc80968a33728054a6a177c5f8a9572f42af93dd2125c5a63": _V106_109,
            "a9e032c5ec677d2dc81e01b6b89f3fb21714c106e341699cc15ae361ed60d26a": "1.110.2"},
        ("litellm.router_strategy.lowest_tpm_rpm_v2", "LowestTPMLoggingHandler_v2._return_potential_deployments"): {
            "4f59dc8e784c16687556098074bacc793ebc9afe6111157fed9aae0e885c5f77": _ALL},
    },
    # fast_litellm/router/least_busy.py: the pick, the keys and counts it reads, and the two
    # TypedDicts litellm's pydantic validation of the deployments reads the ids through.
    "router.least_busy": {
        (_LEAST_BUSY, "LeastBusyLoggingHandler.get_available_deployments"): {
            "3d49f5eca379633c6f1a4f1f5a3c52b40a90a64e6edccac08b7e1d5f0c0ad249": _V106_109},
        (_LEAST_BUSY, "LeastBusyLoggingHandler.async_get_available_deployments"): {
            "c28b0a610d26c7f474c37e5aa951a5b49c83a3bc6347712547a7586dbbf266cc": _V106_109},
        (_LEAST_BUSY, "_request_count_keys"): {
            "5e64e78ed488f874338d942ab012744130a66d76899117b024d9873f10acc195": _V106_109},
        (_LEAST_BUSY, "_request_count_key"): {
            "6742ec38f1853afe72a9fcc1d4de4e50562818467b9d7eaf55d3626cf1178761": _V106_109},
        (_LEAST_BUSY, "_local_counts"): {
            "a6323a4948fc1cfe04339e57717ecdb4ba1b410ac2882a0d46bb51ad846a4002": _V106_109},
        (_LEAST_BUSY, "_as_counts"): {
            "6d53a14a329189b14fd71de244858353ca0e5ad0eac94f63810fe075beaae770": _V106_109},
        (_LEAST_BUSY, "_least_busy"): {
            "b0ac6482f695ac02837123339654b12175407ab0b6f47fe4ea30f716332a5cac": _V106_109},
        (_LEAST_BUSY, "_Deployment"): {
            "c722e8d2d7c156fe99f0842f6f0cc689f17d26db6518a62c0b9f038fdcf0c637": _V106_109},
        (_LEAST_BUSY, "_DeploymentModelInfo"): {
            "68a6d75510663101bd377a47d836d7050057f3d8bf6a898ff0633ef668fee270": _V106_109},
    },
    "router.usage_v2_keys": {
        ("litellm.router_strategy.lowest_tpm_rpm_v2", "LowestTPMLoggingHandler_v2.usage_counter_keys"): {
            "634d393d44a4b9685d948509ac962322f00442b0094967bcf9d8bf18ed89c89d": _ALL},
    },
    "router.members": {
        ("litellm.router", "Router.get_all_deployments"): {
            "a8c1cb053f81de5f6d544420fb2bb55df8cc780b76644873efff8a4bf18b14ce": _V106},
        ("litellm.router", "Router.should_include_deployment"): {
            "6f54fbe9d84146a484d5e8a96283c5b1588e79225124039da35d9152319084d5": _V106},
    },
    "router.cooled": {
        ("litellm.router", "Router._filter_cooldown_deployments"): {
            "6857913cc2f22ac0acfbe6add45ccc50bed00b1bca93db78fa77c9c86a4097b8": _V106},
        ("litellm.router", "Router._filter_blocked_deployments"): {
            "e70a6ce5e2496f7c0b2236dc912618988c03269a4f92b2dd219ba28067f684d4": _V106},
    },
    "router.reserved": {
        (_WINDOWS, "filter_reserved_deployments"): {
            "aebfb4a0fd1c60df5977429a76329593f70f7935cc122faf2215eb9bf55e9991": _V106},
        (_WINDOWS, "_reservation_blocking_window"): {
            "7bb5a1740c2da221aede06903ff3ff6f24fff8bb6d8a9623b7ce553ef6309c04": _V106},
        (_WINDOWS, "parse_access_windows"): {
            "8524b413f0acc4e7bb1a8dbf66ddfb380e1ffbda7ccf44274265f71e0319e320": _V106},
        (_WINDOWS, "ReservationFilterResult"): {
            "1e051390599faec98de1de899b4dab63e3096d3adcb6980bf435cb16f563df01": _V106},
    },
    "router.order": {
        (_UTILS, "get_order_filtered_deployments"): {
            "e660bb9a5eb4bf0488180bf049fe6829ea6983d2bc30b1d2f9910d63e3b50716": _ALL},
        (_UTILS, "get_deployment_order"): {
            "95bef695bfe4b1ba593515190f8834d091768cd78f66708838df1a873cee3db4": _V106_109,
            # 1.110: orders spelled 1.0, "1" or True count as ints; an exact int (the only kind the
            # native filter takes) is returned as it is, as before.
            "adf62da878a7af7bc25ad4ed6eecf9534491e3b4694187d35a7e245e55c3a445": "1.110.2",
        },
    },
    "router.latency": {
        (_LATENCY, "LowestLatencyLoggingHandler._get_available_deployments"): {
            "6ff8a9cfd85daa2ab4735d67975fa47328e1c386d7367e3a2ba7ab1d79ba4054": _V106,
            "09a91fbe2cec9b94257f6251600bbe7735469eedc90dc5369b9314da99d3db1c": "1.109.3",
            "ebbe87a871db655ace8c128f8ed4a73dd0101807ed749baf1ed1af65a62e17b2": "1.110.2",
        },
        (_LATENCY, "_average_latency"): {"fbdfb90950e9b08673dba1c2251dc5560f968d260554a50568cf6809b00398b5": _ALL},
        (_LATENCY, "_usable_latency_samples"): _new_in_1109(
            "db012d4613a222c8a1e371df84ff6b17bde3534af7f7fdcaf282feeab6480d45"),
    },
    "router.usage": {
        (_USAGE, "LowestTPMLoggingHandler.get_available_deployments"): {
            "510ec62f55b124e7bf8dbefc1969b7fb79826e844c1dffce87a7a6c48f186f01": _V106_109,
            "c0adee5bf8c26a7423f59720567634df07b124d322dc141585c7514b17b59d1d": "1.110.2",
        },
    },
    "router.cost": {
        (_COST, "LowestCostLoggingHandler.async_get_available_deployments"): {
            "3ec2ece770b5797680780bfb25ef4e6416d05f7cc78167d9acd2949376e73806": _V106_109,
            "ac03bdde271e2089d0fbf0ea2d42238a1ff02b9abd5d695b4cc6baef6dfa37d2": "1.110.2",
        },
        (_COST, "_deployment_cost_map_rates"): {
            "7a10cf9faa00c61170cce4a72d9fb4df3827a235e442a767bf8658ab4f7b35bb": _ALL},
        (_COST, "_cost_map"): {"af6f23c6ba0550aed427d632ff520230560fbc3b6edbad4bbfc93569f92c86ca": _ALL},
        (_COST, "_declares_token_price"): {
            "2d1ac80b622238d01b6bed159bd9ee2bc01708aa91178772051bc6aa06c46cf4": _ALL},
        (_COST, "_as_rate"): {"97587e618a8e4355f95368f768593a5b71537cafa07d2bd28a373061c264998c": _ALL},
        (_COST, "deployment_pricing_models"): {
            "3e965d2f024d0af1a03593021db2a4b341426d97bc6ec72ef0dc52be8ffd7220": _ALL},
        (_COST, "str_keyed"): {"e0a0669af3e0afe05dfacf952bf6ceea6723942e53520b5f73ad301bfd054f97": _ALL},
        (_COST, "deployment_pricing_models.pricing_models"): {
            "18e4c0a0cd6bc65e9758f6f7d83cc8f0fd16c03bbf9a00e62e11747b0b378849": _ALL},
        (_COST, "deployment_pricing_models._named_models"): {
            "a897556201d9c73751e9779f964693430736f8bbfe1b64b9c29f49988d90c2e7": _ALL},
    },
    # adapters.quiet rebuilds these from their source with print_verbose(...) guarded by the test
    # litellm._logging.print_verbose makes first (both of its sources below).
    "router.cache": {
        ("litellm.caching.dual_cache", "DualCache.get_cache"): {
            "30f09d26ae8a293ad364e32cb929a294110c332917d19efd3789ed0df4646cb9": _ALL},
        ("litellm.caching.dual_cache", "DualCache.async_get_cache"): {
            "74703830ad19f9cf630f8b74ed571013f92f1bc389edd790fad63798f08e334b": _ALL},
        ("litellm.caching.dual_cache", "DualCache.async_set_cache"): {
            "ed8c6150b80c4bbe0ddb9f721faf94d730707adc7a7b2fc0aebf9b3b8346f6d0": _ALL},
        ("litellm.caching.dual_cache", "DualCache.async_set_cache_pipeline"): {
            "980e5fbe6f9284f52dae8a6c42c9583cdab4549c66a8217cad51da1ad41647d0": _ALL},
        ("litellm._logging", "print_verbose"): {
            "fc2edb920c7483f84459d5c61d69657533c84575c5ad08b37ce053581ae76b3e": "1.106.12",
            "a82e40c081a9ea3d39090448004fdad74ab0bed3b49b6e62a7df844aec8fa7a7": "1.108.14-1.110.2",
        },
    },
})

GUARDED_MODULES = frozenset(module for functions in REPRODUCED.values() for module, _ in functions)

# (module, name) -> (the object last checked, its verdict): a source is read once per object.
_checked: dict[tuple[str, str], tuple[Any, str | None]] = {}


def _resolve(owner: Any, name: str) -> Any:
    """``owner``'s ``name``; "a.b" is a's b: a class's own attribute, or a name in a function's
    globals (what the function calls by that name).  None where something is missing."""
    obj = owner
    for part in name.split("."):
        if inspect.isfunction(obj):
            obj = obj.__globals__.get(part)
        else:
            obj = vars(obj).get(part) if obj is not None and hasattr(obj, "__dict__") else None
    return obj


def _verdict(module: str, name: str) -> str | None:
    """None if litellm's ``module.name`` has a checked source; else why not."""
    owner = sys.modules.get(module)
    if owner is None:
        return f"{module} is not imported yet"
    obj = _resolve(owner, name)
    if obj is None:
        return None if ABSENT in REPRODUCED_SOURCES.get((module, name), {}) else f"{module}.{name} is missing"
    unwrapped = inspect.unwrap(obj) if callable(obj) else obj
    seen = _checked.get((module, name))
    if seen is not None and seen[0] is unwrapped:
        return seen[1]
    try:
        digest = hashlib.sha256(inspect.getsource(unwrapped).encode()).hexdigest()
    except (OSError, TypeError) as exc:
        verdict: str | None = f"the source of {module}.{name} cannot be read ({exc})"
    else:
        known = REPRODUCED_SOURCES.get((module, name), {})
        verdict = None if digest in known else (
            f"{module}.{name} differs from the sources fast-litellm reproduces (sha256 {digest[:12]})")
    _checked[(module, name)] = (unwrapped, verdict)
    return verdict


REPRODUCED_SOURCES: dict[tuple[str, str], dict[str, str]] = {}
for _functions in REPRODUCED.values():
    for _site, _sources in _functions.items():
        REPRODUCED_SOURCES.setdefault(_site, {}).update(_sources)


def check_feature(feature: str) -> tuple[bool, str]:
    """(True, "") where every litellm function ``feature`` reproduces is one we checked; else
    (False, the reasons, "; "-joined).  Features that reproduce nothing of litellm pass."""
    reasons = [why for module, name in REPRODUCED.get(feature, {})
               if (why := _verdict(module, name)) is not None]
    return not reasons, "; ".join(reasons)
