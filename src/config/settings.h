// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// drip's settings. Each one is a --flag, a DRIP_* environment variable and a
// .env line with the variable's name; the first of those that is present
// wins, and the default comes last. Every value is checked before anything
// starts, and a bad one is reported with both of its names.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/errc.h"
#include "config/redis_url.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace drip::config {

// One per setting; each command asks for the ones it uses.
enum class Setting {
    kRedisUrl,
    kQueue,
    kCapacity,
    kLeakRate,
    kHost,
    kPort,
    kLogFile,
    kApiToken,
    kMaxBodyBytes,
    kDeliverUrl,
    kMaxAttempts,
    kVisibilityTimeout,
    kConsumerId,
    kLogLevel,
    kLogFormat,
    kThreads,
    kMaxConnections,
    kRequestTimeout,
    kIdleTimeout,
    kDeliverTimeout,
    kDeliverConcurrency,
    kLogMaxBytes,
    kRetryBackoff,
    kDeliverCaFile,
    kLogKeep,
    kRedisCaFile,
};

// The resolved values. A setting the command did not ask for keeps its
// default. The initializers below are the documented defaults.
struct Settings {
    // --redis-url, parsed. Log redis.Redacted(), never redis_url.
    RedisUrl redis;
    // --redis-url as given; it may hold the password.
    std::string redis_url = "redis://127.0.0.1:6379/0";
    // --queue: the bucket's name, 1-200 of [A-Za-z0-9._-].
    std::string queue = "default";
    // --capacity: messages the bucket holds, 1 to 1e9.
    int64_t capacity = 1000;
    // --leak-rate: messages per second, > 0 and <= 1e6.
    double leak_rate = 10;
    // --host: the address serve binds.
    std::string host = "127.0.0.1";
    // --port: the port serve binds; 0 picks any free port.
    uint16_t port = 8000;
    // --log-file: where consume records processed messages.
    std::string log_file = "processed.log";
    // --api-token: when set, requests need "Authorization: Bearer TOKEN".
    // Never empty when set.
    std::optional<std::string> api_token;
    // --max-body-bytes: larger request bodies get 413; 64 to 64 MiB.
    int64_t max_body_bytes = 65536;
    // --deliver-url: when set, an http:// or https:// URL that consume POSTs
    // each leaked message to.
    std::optional<std::string> deliver_url;
    // --max-attempts: deliveries tried before a message is dead-lettered.
    int max_attempts = 5;
    // --visibility-timeout: how long a consumer may hold a message before
    // another consumer takes it over.
    std::chrono::milliseconds visibility_timeout{30'000};
    // --consumer-id: 1-200 of [A-Za-z0-9._:/-] when set.
    std::optional<std::string> consumer_id;
    // --log-level: trace, debug, info, warn, error or off (lowercase).
    std::string log_level = "info";
    // --log-format: text or json (lowercase).
    std::string log_format = "text";
    // --threads: serve's worker threads, 0 to 256; 0 is one per core.
    int threads = 0;
    // --max-connections: client connections serve holds open at once.
    int max_connections = 10'000;
    // --request-timeout: the time a client has to send a whole request.
    std::chrono::milliseconds request_timeout{10'000};
    // --idle-timeout: how long a keep-alive connection may sit idle.
    std::chrono::milliseconds idle_timeout{60'000};
    // --deliver-timeout: how long one delivery POST may take.
    std::chrono::milliseconds deliver_timeout{10'000};
    // --deliver-concurrency: deliveries in flight at once, 1 to 4096.
    int deliver_concurrency = 16;
    // --log-max-bytes: size at which the processed log rotates; 0 never.
    int64_t log_max_bytes = 0;
    // --retry-backoff: the wait before a failed delivery's second attempt;
    // it doubles with each further attempt.
    std::chrono::milliseconds retry_backoff{1'000};
    // --deliver-ca-file: PEM certificates that https deliveries trust
    // instead of the system's.
    std::optional<std::string> deliver_ca_file;
    // --log-keep: rotated processed logs kept (PATH.1 .. PATH.N), 1 to 1000.
    int log_keep = 5;
    // --redis-ca-file: PEM certificates that rediss:// connections trust
    // instead of the system's; a readable file.
    std::optional<std::string> redis_ca_file;

    bool operator==(const Settings&) const = default;
};

// Looks a variable up in the environment; nullopt when it is unset.
using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// The process environment, through std::getenv. Not safe to call while
// another thread changes the environment.
std::optional<std::string> ProcessEnv(const std::string& name);

// Adds the settings' flags to CLI11 commands and, once CLI11 has parsed,
// resolves each setting from flag, environment, .env file and default.
// The flags write into this object, so it must outlive the parse and is
// neither copyable nor movable. Not thread-safe.
class SettingsParser {
  public:
    SettingsParser() = default;
    SettingsParser(const SettingsParser&) = delete;
    SettingsParser& operator=(const SettingsParser&) = delete;

    // Adds a --flag to `command` for each setting in `which`, plus
    // --env-file, with help that names the variable and the default:
    // "messages the bucket holds [env DRIP_CAPACITY, default 1000]".
    // May be called for several commands, and again for the same command
    // (settings it already has are skipped). `command` must outlive this
    // object's use of it. A repeated flag keeps its last value.
    void AddOptions(CLI::App& command, std::initializer_list<Setting> which);

    // After CLI11 has parsed `command`: resolves the settings added to it,
    // each from its flag, else `getenv`, else the .env file, else the
    // default, and checks them. Values from the environment and the file
    // are trimmed of surrounding whitespace; an empty value is a value
    // (and an error where the rule forbids it), except that an optional
    // setting given as empty is unset.
    // The .env file is --env-file, else DRIP_ENV_FILE (either must exist),
    // else ./.env when it exists. Variables in it that are not settings are
    // ignored.
    // Returns kInvalidArgument naming the setting both ways, e.g.
    // "invalid DRIP_CAPACITY (--capacity): must be an integer from 1 to
    // 1000000000, got '-5' from the environment"; a URL's password is
    // masked. Returns kInternal when AddOptions was never called for
    // `command`.
    Result<Settings> Resolve(const CLI::App& command,
                             const Getenv& getenv) const;

  private:
    struct FlagValue {
        const CLI::Option* option = nullptr;
        // Written by CLI11 during the parse.
        std::string text;
    };
    struct CommandFlags {
        std::map<Setting, FlagValue> settings;
        FlagValue env_file;
    };

    // Node-based, so the strings CLI11 writes to never move.
    std::map<const CLI::App*, CommandFlags> commands_;
};

// Every variable a .env file may set, one per Setting, in the order of
// the enum. DRIP_ENV_FILE is not among them: a file cannot name itself.
std::vector<std::string> SettingVariables();

// Every setting as commented .env text: a "# meaning (default X)" line,
// then "DRIP_NAME=X", or "# DRIP_NAME=" for a setting unset by default.
// The source of sample.env.
std::string SampleEnv();

}  // namespace drip::config
