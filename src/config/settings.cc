// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "config/settings.h"

#include <unistd.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>

#include "config/dotenv.h"

namespace drip::config {
namespace {

namespace outcome = boost::outcome_v2;

using Env = std::map<std::string, std::string>;
// The rule a value broke, or nullopt when it is good.
using Broken = std::optional<std::string>;

constexpr std::string_view kSpace = " \t\r\n\f\v";
constexpr std::string_view kEnvFileFlag = "--env-file";
constexpr std::string_view kEnvFileVariable = "DRIP_ENV_FILE";
constexpr std::string_view kDefaultEnvFile = ".env";
constexpr size_t kMaxNameLength = 200;
// A year: long enough for any timeout, short enough that no clock
// arithmetic on it can overflow.
constexpr double kMaxSeconds = 365.0 * 24 * 60 * 60;
// Longest rejected value echoed back in an error.
constexpr size_t kMaxEchoed = 120;
constexpr size_t kSampleWidth = 78;

Error Invalid(std::string detail) {
    return MakeError(Errc::kInvalidArgument, std::move(detail));
}

std::string_view Trim(std::string_view text) {
    const size_t start = text.find_first_not_of(kSpace);
    if (start == std::string_view::npos) return {};
    const size_t end = text.find_last_not_of(kSpace);
    return text.substr(start, end - start + 1);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAlnum(char c) {
    return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string Lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// All of `text` as a decimal integer: an optional '-', then digits only.
std::optional<int64_t> ParseInteger(std::string_view text) {
    const size_t digits = (!text.empty() && text[0] == '-') ? 1 : 0;
    if (text.size() == digits) return std::nullopt;
    for (size_t i = digits; i < text.size(); ++i) {
        if (!IsDigit(text[i])) return std::nullopt;
    }
    int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) return std::nullopt;
    return value;
}

// All of `text` as a finite decimal ("10", "0.5", "1e-2"); from_chars
// alone would also take "inf" and "nan".
std::optional<double> ParseDecimal(std::string_view text) {
    const size_t start = (!text.empty() && text[0] == '-') ? 1 : 0;
    if (text.size() == start) return std::nullopt;
    if (!IsDigit(text[start]) && text[start] != '.') return std::nullopt;
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

template <typename T>
Broken StoreInteger(std::string_view text, int64_t min, int64_t max, T& field) {
    const auto value = ParseInteger(text);
    if (value && *value >= min && *value <= max) {
        field = static_cast<T>(*value);
        return std::nullopt;
    }
    if (max == std::numeric_limits<int64_t>::max()) {
        return "must be an integer of at least " + std::to_string(min);
    }
    return "must be an integer from " + std::to_string(min) + " to " +
           std::to_string(max);
}

Broken StoreRate(std::string_view text, double& field) {
    constexpr double kMaxRate = 1'000'000;
    const auto value = ParseDecimal(text);
    if (!value || !(*value > 0) || *value > kMaxRate) {
        return "must be a number greater than 0 and at most 1000000";
    }
    field = *value;
    return std::nullopt;
}

Broken StoreSeconds(std::string_view text, std::chrono::milliseconds& field) {
    const auto value = ParseDecimal(text);
    const double millis = value ? std::round(*value * 1000) : 0;
    if (!value || *value > kMaxSeconds || millis < 1) {
        return "must be a number of seconds from 0.001 to 31536000";
    }
    field = std::chrono::milliseconds(static_cast<int64_t>(millis));
    return std::nullopt;
}

// A file that exists and can be read now; empty text means unset.
Broken StoreReadableFile(std::string_view text,
                         std::optional<std::string>& field) {
    if (text.empty()) {
        field.reset();
        return std::nullopt;
    }
    const std::string path(text);
    if (::access(path.c_str(), R_OK) != 0) {
        return "must be a readable file";
    }
    field = path;
    return std::nullopt;
}

Broken StoreNonEmpty(std::string_view text, std::string& field) {
    if (text.empty()) return "must not be empty";
    field = std::string(text);
    return std::nullopt;
}

// 1 to kMaxNameLength characters, each alphanumeric or in `punctuation`.
bool IsName(std::string_view text, std::string_view punctuation) {
    if (text.empty() || text.size() > kMaxNameLength) return false;
    for (const char c : text) {
        if (!IsAlnum(c) && punctuation.find(c) == std::string_view::npos) {
            return false;
        }
    }
    return true;
}

Broken StoreQueue(std::string_view text, std::string& field) {
    if (!IsName(text, "._-")) {
        return "must be 1 to 200 characters from A-Z a-z 0-9 . _ -";
    }
    field = std::string(text);
    return std::nullopt;
}

Broken StoreConsumerId(std::string_view text,
                       std::optional<std::string>& field) {
    if (text.empty()) {
        field.reset();
        return std::nullopt;
    }
    if (!IsName(text, "._:/-")) {
        return "must be 1 to 200 characters from A-Z a-z 0-9 . _ : / -";
    }
    field = std::string(text);
    return std::nullopt;
}

Broken StoreOptional(std::string_view text, std::optional<std::string>& field) {
    if (text.empty()) {
        field.reset();
    } else {
        field = std::string(text);
    }
    return std::nullopt;
}

Broken StoreChoice(std::string_view text,
                   std::initializer_list<std::string_view> choices,
                   std::string_view rule, std::string& field) {
    const std::string lower = Lower(text);
    for (const std::string_view choice : choices) {
        if (lower == choice) {
            field = lower;
            return std::nullopt;
        }
    }
    return std::string(rule);
}

Broken StoreRedisUrl(std::string_view text, Settings& out) {
    auto url = ParseRedisUrl(text);
    if (!url) return url.error().detail;
    out.redis = std::move(url).assume_value();
    out.redis_url = std::string(text);
    return std::nullopt;
}

// The host[:port] of an http:// or https:// URL; nullopt for any other
// scheme.
std::optional<std::string_view> HttpHostPort(std::string_view url) {
    std::string_view rest;
    if (url.starts_with("http://")) {
        rest = url.substr(7);
    } else if (url.starts_with("https://")) {
        rest = url.substr(8);
    } else {
        return std::nullopt;
    }

    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    const size_t at = authority.rfind('@');
    if (at != std::string_view::npos) authority.remove_prefix(at + 1);
    return authority;
}

// A host (a name, or an IPv6 address in brackets), then a port from 1 to
// 65535 if there is one.
bool IsHostPort(std::string_view text) {
    size_t host_end = text.find(':');
    if (text.starts_with('[')) {
        const size_t close = text.find(']');
        if (close == std::string_view::npos || close < 2) return false;
        host_end = close + 1;
    }
    if (text.empty() || host_end == 0) return false;
    if (host_end >= text.size()) return true;

    if (text[host_end] != ':') return false;
    const auto port = ParseInteger(text.substr(host_end + 1));
    return port && *port >= 1 && *port <= 65535;
}

bool IsHttpUrl(std::string_view url) {
    for (const char c : url) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7F) return false;
    }
    const auto host_port = HttpHostPort(url);
    return host_port && IsHostPort(*host_port);
}

Broken StoreDeliverUrl(std::string_view text,
                       std::optional<std::string>& field) {
    if (text.empty()) {
        field.reset();
        return std::nullopt;
    }
    if (!IsHttpUrl(text)) {
        return "must be an http:// or https:// URL with a host (and a port "
               "from 1 to 65535 if any)";
    }
    field = std::string(text);
    return std::nullopt;
}

// How a rejected value may be echoed in an error.
enum class Echo { kPlain, kUrl };

struct Descriptor {
    Setting setting;
    std::string_view flag;
    std::string_view variable;
    // What --help shows for the value: "N", "SECONDS", "URL".
    std::string_view value_name;
    // nullopt: unset by default.
    std::optional<std::string_view> default_text;
    std::string_view meaning;
    Echo echo;
    Broken (*store)(std::string_view text, Settings& out);
};

// One row per Setting, in the enum's order; help, errors and SampleEnv()
// are all built from it.
constexpr std::array<Descriptor, 26> kDescriptors{{
    {Setting::kRedisUrl, "--redis-url", "DRIP_REDIS_URL", "URL",
     "redis://127.0.0.1:6379/0",
     "the Redis server: redis://[[user]:password@]host[:port][/db], "
     "rediss://... for TLS, or unix:///path/to/socket[?db=N]",
     Echo::kUrl, &StoreRedisUrl},
    {Setting::kQueue, "--queue", "DRIP_QUEUE", "NAME", "default",
     "the bucket's name (A-Z a-z 0-9 . _ -); its Redis keys are derived "
     "from it",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreQueue(text, out.queue);
     }},
    {Setting::kCapacity, "--capacity", "DRIP_CAPACITY", "N", "1000",
     "messages the bucket holds", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreInteger(text, 1, 1'000'000'000, out.capacity);
     }},
    {Setting::kLeakRate, "--leak-rate", "DRIP_LEAK_RATE", "RATE", "10",
     "messages per second that leak from the bucket (a decimal, e.g. 0.5)",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreRate(text, out.leak_rate);
     }},
    {Setting::kHost, "--host", "DRIP_HOST", "ADDRESS", "127.0.0.1",
     "address serve binds", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreNonEmpty(text, out.host);
     }},
    {Setting::kPort, "--port", "DRIP_PORT", "PORT", "8000",
     "port serve binds (0 picks any free port)", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreInteger(text, 0, 65535, out.port);
     }},
    {Setting::kLogFile, "--log-file", "DRIP_LOG_FILE", "PATH", "processed.log",
     "where consume records processed messages", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreNonEmpty(text, out.log_file);
     }},
    {Setting::kApiToken, "--api-token", "DRIP_API_TOKEN", "TOKEN", std::nullopt,
     "when set, requests need 'Authorization: Bearer TOKEN' (except "
     "/healthz, /readyz, / and /docs)",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreOptional(text, out.api_token);
     }},
    {Setting::kMaxBodyBytes, "--max-body-bytes", "DRIP_MAX_BODY_BYTES", "BYTES",
     "65536", "larger request bodies get 413 (64 to 67108864)", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreInteger(text, 64, 67'108'864, out.max_body_bytes);
     }},
    {Setting::kDeliverUrl, "--deliver-url", "DRIP_DELIVER_URL", "URL",
     std::nullopt,
     "when set, consume POSTs each leaked message to this http(s) URL",
     Echo::kUrl,
     [](std::string_view text, Settings& out) {
         return StoreDeliverUrl(text, out.deliver_url);
     }},
    {Setting::kMaxAttempts, "--max-attempts", "DRIP_MAX_ATTEMPTS", "N", "5",
     "delivery attempts before a message is dead-lettered", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreInteger(text, 1, 1000, out.max_attempts);
     }},
    {Setting::kVisibilityTimeout, "--visibility-timeout",
     "DRIP_VISIBILITY_TIMEOUT", "SECONDS", "30",
     "seconds a consumer may hold a message before another consumer takes "
     "it over",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreSeconds(text, out.visibility_timeout);
     }},
    {Setting::kConsumerId, "--consumer-id", "DRIP_CONSUMER_ID", "ID",
     std::nullopt, "this consumer's name (A-Z a-z 0-9 . _ : / -)", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreConsumerId(text, out.consumer_id);
     }},
    {Setting::kLogLevel, "--log-level", "DRIP_LOG_LEVEL", "LEVEL", "info",
     "least severe log level written: trace, debug, info, warn, error or off",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreChoice(
             text, {"trace", "debug", "info", "warn", "error", "off"},
             "must be one of trace, debug, info, warn, error, off",
             out.log_level);
     }},
    {Setting::kLogFormat, "--log-format", "DRIP_LOG_FORMAT", "FORMAT", "text",
     "log line format: text or json", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreChoice(text, {"text", "json"}, "must be text or json",
                            out.log_format);
     }},
    {Setting::kThreads, "--threads", "DRIP_THREADS", "N", "0",
     "serve's worker threads (0 is one per core)", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreInteger(text, 0, 256, out.threads);
     }},
    {Setting::kMaxConnections, "--max-connections", "DRIP_MAX_CONNECTIONS", "N",
     "10000", "client connections serve holds open at once", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreInteger(text, 1, 1'000'000, out.max_connections);
     }},
    {Setting::kRequestTimeout, "--request-timeout", "DRIP_REQUEST_TIMEOUT",
     "SECONDS", "10", "seconds a client has to send a whole request",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreSeconds(text, out.request_timeout);
     }},
    {Setting::kIdleTimeout, "--idle-timeout", "DRIP_IDLE_TIMEOUT", "SECONDS",
     "60", "seconds a keep-alive connection may sit idle", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreSeconds(text, out.idle_timeout);
     }},
    {Setting::kDeliverTimeout, "--deliver-timeout", "DRIP_DELIVER_TIMEOUT",
     "SECONDS", "10", "seconds one delivery POST may take", Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreSeconds(text, out.deliver_timeout);
     }},
    {Setting::kDeliverConcurrency, "--deliver-concurrency",
     "DRIP_DELIVER_CONCURRENCY", "N", "16", "deliveries in flight at once",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreInteger(text, 1, 4096, out.deliver_concurrency);
     }},
    {Setting::kLogMaxBytes, "--log-max-bytes", "DRIP_LOG_MAX_BYTES", "BYTES",
     "0", "bytes at which the processed log rotates (0 never rotates)",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreInteger(text, 0, std::numeric_limits<int64_t>::max(),
                             out.log_max_bytes);
     }},
    {Setting::kRetryBackoff, "--retry-backoff", "DRIP_RETRY_BACKOFF", "SECONDS",
     "1",
     "seconds before a failed delivery is tried again; doubles with each "
     "attempt, with jitter, up to 5 minutes",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreSeconds(text, out.retry_backoff);
     }},
    {Setting::kDeliverCaFile, "--deliver-ca-file", "DRIP_DELIVER_CA_FILE",
     "PATH", std::nullopt,
     "PEM file of the certificates https deliveries trust (default: the "
     "system's)",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreReadableFile(text, out.deliver_ca_file);
     }},
    {Setting::kLogKeep, "--log-keep", "DRIP_LOG_KEEP", "N", "5",
     "rotated processed logs kept beside the log (PATH.1 is the newest)",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreInteger(text, 1, 1000, out.log_keep);
     }},
    {Setting::kRedisCaFile, "--redis-ca-file", "DRIP_REDIS_CA_FILE", "PATH",
     std::nullopt,
     "PEM file of the certificates rediss:// connections trust (default: "
     "the system's)",
     Echo::kPlain,
     [](std::string_view text, Settings& out) {
         return StoreReadableFile(text, out.redis_ca_file);
     }},
}};

constexpr bool RowsFollowEnum() {
    for (size_t i = 0; i < kDescriptors.size(); ++i) {
        if (static_cast<size_t>(kDescriptors[i].setting) != i) return false;
    }
    return true;
}
static_assert(RowsFollowEnum(), "kDescriptors must follow Setting's order");
static_assert(kDescriptors.back().setting == Setting::kRedisCaFile,
              "every Setting needs a row in kDescriptors");

const Descriptor& Describe(Setting setting) {
    return kDescriptors[static_cast<size_t>(setting)];
}

std::string DefaultLabel(const Descriptor& row) {
    return row.default_text ? std::string(*row.default_text) : "unset";
}

std::string HelpText(const Descriptor& row) {
    return std::string(row.meaning) + " [env " + std::string(row.variable) +
           ", default " + DefaultLabel(row) + "]";
}

// A rejected value as it may appear in an error: secrets masked, control
// characters replaced, long values cut.
std::string Echoed(const Descriptor& row, std::string_view text) {
    std::string out =
        row.echo == Echo::kUrl ? RedactUrlText(text) : std::string(text);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < ' ' || c == 0x7F) c = '?';
    }
    if (out.size() > kMaxEchoed) out = out.substr(0, kMaxEchoed) + "...";
    return out;
}

// A setting's text and where it came from ("from the environment").
struct Candidate {
    std::string text;
    std::string origin;
};

struct EnvFile {
    std::string path;
    Env values;
};

Result<EnvFile> ReadEnvFile(std::string path, bool required,
                            std::string_view named_by) {
    auto values = ReadDotenvFile(path, required);
    if (!values) {
        std::string label = "env file";
        if (!named_by.empty()) label += " (" + std::string(named_by) + ")";
        return Invalid(label + ": " + values.error().detail);
    }
    return EnvFile{std::move(path), std::move(values).assume_value()};
}

// --env-file, else DRIP_ENV_FILE, else ./.env if it exists.
Result<EnvFile> LoadEnvFile(const CLI::Option& flag,
                            const std::string& flag_text,
                            const Getenv& getenv) {
    if (flag.count() > 0) return ReadEnvFile(flag_text, true, kEnvFileFlag);
    const auto from_env = getenv(std::string(kEnvFileVariable));
    if (from_env && !Trim(*from_env).empty()) {
        return ReadEnvFile(std::string(Trim(*from_env)), true,
                           kEnvFileVariable);
    }
    return ReadEnvFile(std::string(kDefaultEnvFile), false, {});
}

// The first of flag, environment and .env file that has the setting.
std::optional<Candidate> FindValue(const Descriptor& row,
                                   const CLI::Option& flag,
                                   const std::string& flag_text,
                                   const Getenv& getenv, const EnvFile& file) {
    if (flag.count() > 0) return Candidate{flag_text, "from the command line"};
    const std::string variable(row.variable);
    if (const auto value = getenv(variable)) {
        return Candidate{std::string(Trim(*value)), "from the environment"};
    }
    const auto it = file.values.find(variable);
    if (it != file.values.end()) {
        return Candidate{std::string(Trim(it->second)), "from " + file.path};
    }
    return std::nullopt;
}

// Stores the candidate, or the default when there is none.
Result<void> Store(const Descriptor& row,
                   const std::optional<Candidate>& candidate, Settings& out) {
    if (!candidate && !row.default_text) return outcome::success();
    const std::string_view text =
        candidate ? std::string_view(candidate->text) : *row.default_text;
    const Broken broken = row.store(text, out);
    if (!broken) return outcome::success();

    const std::string variable(row.variable);
    if (!candidate) {
        return MakeError(Errc::kInternal,
                         "bad default for " + variable + ": " + *broken);
    }
    return Invalid("invalid " + variable + " (" + std::string(row.flag) +
                   "): " + *broken + ", got '" + Echoed(row, text) + "' " +
                   candidate->origin);
}

// `text` as "# " comment lines no wider than kSampleWidth.
std::string CommentLines(std::string_view text) {
    std::string out;
    std::string line = "#";
    while (!text.empty()) {
        const size_t space = text.find(' ');
        const std::string_view word = text.substr(0, space);
        text = space == std::string_view::npos ? std::string_view()
                                               : text.substr(space + 1);

        if (line.size() > 1 && line.size() + 1 + word.size() > kSampleWidth) {
            out += line + "\n";
            line = "#";
        }
        line += ' ';
        line += word;
    }
    return out + line + "\n";
}

// One setting in sample.env: what it means, then its line, commented out
// when the setting is unset by default.
std::string SampleEntry(const Descriptor& row) {
    const std::string variable(row.variable);
    std::string out = CommentLines(std::string(row.meaning) + " (default " +
                                   DefaultLabel(row) + ")");
    if (!row.default_text) return out + "# " + variable + "=\n";
    return out + variable + "=" + std::string(*row.default_text) + "\n";
}

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

void SettingsParser::AddOptions(CLI::App& command,
                                std::initializer_list<Setting> which) {
    CommandFlags& flags = commands_[&command];
    for (const Setting setting : which) {
        if (flags.settings.contains(setting)) continue;
        const Descriptor& row = Describe(setting);
        FlagValue& value = flags.settings[setting];
        value.option =
            command
                .add_option(std::string(row.flag), value.text, HelpText(row))
                ->type_name(std::string(row.value_name))
                ->take_last();
    }

    if (flags.env_file.option != nullptr) return;
    flags.env_file.option =
        command
            .add_option(std::string(kEnvFileFlag), flags.env_file.text,
                        "the .env file to read; it must exist [env "
                        "DRIP_ENV_FILE, default .env when it exists]")
            ->type_name("PATH")
            ->take_last();
}

Result<Settings> SettingsParser::Resolve(const CLI::App& command,
                                         const Getenv& getenv) const {
    const auto command_it = commands_.find(&command);
    if (command_it == commands_.end()) {
        return MakeError(Errc::kInternal,
                         "Resolve() before AddOptions() for this command");
    }
    const CommandFlags& flags = command_it->second;
    const auto file =
        LoadEnvFile(*flags.env_file.option, flags.env_file.text, getenv);
    if (!file) return file.error();

    Settings settings;
    for (const auto& [setting, flag] : flags.settings) {
        const Descriptor& row = Describe(setting);
        const auto candidate = FindValue(row, *flag.option, flag.text, getenv,
                                         file.assume_value());
        auto stored = Store(row, candidate, settings);
        if (!stored) return stored.error();
    }
    return settings;
}

std::vector<std::string> SettingVariables() {
    std::vector<std::string> variables;
    variables.reserve(kDescriptors.size());
    for (const Descriptor& row : kDescriptors) {
        variables.emplace_back(row.variable);
    }
    return variables;
}

std::string SampleEnv() {
    std::string out = CommentLines(
        "drip settings, one VARIABLE=value per line. A flag beats the "
        "environment, which beats this file, which beats the default. drip "
        "reads ./.env, or the file named by --env-file or DRIP_ENV_FILE.");
    for (const Descriptor& row : kDescriptors) out += "\n" + SampleEntry(row);
    return out;
}

}  // namespace drip::config
