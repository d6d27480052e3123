// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "config/settings.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include "config/dotenv.h"

namespace drip::config {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Every setting, for a command that takes them all.
constexpr std::initializer_list<Setting> kAll = {
    Setting::kRedisUrl,
    Setting::kQueue,
    Setting::kCapacity,
    Setting::kLeakRate,
    Setting::kHost,
    Setting::kPort,
    Setting::kLogFile,
    Setting::kApiToken,
    Setting::kMaxBodyBytes,
    Setting::kDeliverUrl,
    Setting::kMaxAttempts,
    Setting::kVisibilityTimeout,
    Setting::kConsumerId,
    Setting::kLogLevel,
    Setting::kLogFormat,
    Setting::kThreads,
    Setting::kMaxConnections,
    Setting::kRequestTimeout,
    Setting::kIdleTimeout,
    Setting::kDeliverTimeout,
    Setting::kDeliverConcurrency,
    Setting::kLogMaxBytes,
    Setting::kRetryBackoff,
    Setting::kDeliverCaFile,
    Setting::kLogKeep,
    Setting::kRedisCaFile,
};

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "drip_settings_XXXXXX")
                .string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }

    std::string Write(const std::string& name, const std::string& text) {
        std::string file = PathOf(name);
        std::ofstream(file, std::ios::binary) << text;
        return file;
    }
    std::string PathOf(const std::string& name) const {
        return (path_ / name).string();
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// Runs the test body in another working directory, for ./.env.
class ScopedWorkingDirectory {
  public:
    explicit ScopedWorkingDirectory(const std::filesystem::path& dir)
        : previous_(std::filesystem::current_path()) {
        std::filesystem::current_path(dir);
    }
    ~ScopedWorkingDirectory() { std::filesystem::current_path(previous_); }

  private:
    std::filesystem::path previous_;
};

class SettingsTest : public ::testing::Test {
  protected:
    SettingsTest() {
        // Keeps the tests away from any ./.env where they happen to run.
        env_["DRIP_ENV_FILE"] = dir_.Write("empty.env", "");
    }

    // Builds a command with `which`, parses `args` (no program name) and
    // resolves it against env_.
    Result<Settings> Run(const std::vector<std::string>& args,
                         std::initializer_list<Setting> which = kAll) {
        CLI::App app("drip test");
        SettingsParser parser;
        parser.AddOptions(app, which);
        Parse(app, args);
        return parser.Resolve(app, Getenv());
    }

    Settings RunOk(const std::vector<std::string>& args,
                   std::initializer_list<Setting> which = kAll) {
        auto settings = Run(args, which);
        EXPECT_TRUE(settings) << settings.error().detail;
        return settings ? settings.assume_value() : Settings{};
    }

    std::string RunError(const std::vector<std::string>& args,
                         std::initializer_list<Setting> which = kAll) {
        auto settings = Run(args, which);
        EXPECT_FALSE(settings) << "resolved";
        if (settings) return {};
        EXPECT_EQ(ErrcOf(settings.error()), Errc::kInvalidArgument);
        return settings.error().detail;
    }

    static void Parse(CLI::App& app, const std::vector<std::string>& args) {
        std::vector<const char*> argv = {"drip"};
        for (const std::string& arg : args) argv.push_back(arg.c_str());
        app.parse(static_cast<int>(argv.size()), argv.data());
    }

    config::Getenv Getenv() const {
        return [this](const std::string& name) -> std::optional<std::string> {
            const auto it = env_.find(name);
            if (it == env_.end()) return std::nullopt;
            return it->second;
        };
    }

    std::map<std::string, std::string> env_;
    TempDir dir_;
};

TEST_F(SettingsTest, DefaultsMatchSettingsStruct) {
    EXPECT_EQ(RunOk({}), Settings{});
}

TEST_F(SettingsTest, DefaultsAreTheDocumentedOnes) {
    const Settings settings = RunOk({});
    EXPECT_EQ(settings.redis_url, "redis://127.0.0.1:6379/0");
    EXPECT_EQ(settings.redis.host, "127.0.0.1");
    EXPECT_EQ(settings.queue, "default");
    EXPECT_EQ(settings.capacity, 1000);
    EXPECT_EQ(settings.leak_rate, 10);

    EXPECT_EQ(settings.host, "127.0.0.1");
    EXPECT_EQ(settings.port, 8000);
    EXPECT_EQ(settings.log_file, "processed.log");
    EXPECT_FALSE(settings.api_token);
    EXPECT_EQ(settings.max_body_bytes, 65536);
    EXPECT_FALSE(settings.deliver_url);
    EXPECT_EQ(settings.max_attempts, 5);
    EXPECT_EQ(settings.visibility_timeout, milliseconds(30'000));
    EXPECT_FALSE(settings.consumer_id);

    EXPECT_EQ(settings.log_level, "info");
    EXPECT_EQ(settings.log_format, "text");
    EXPECT_EQ(settings.threads, 0);
    EXPECT_EQ(settings.max_connections, 10'000);
    EXPECT_EQ(settings.request_timeout, milliseconds(10'000));
    EXPECT_EQ(settings.idle_timeout, milliseconds(60'000));
    EXPECT_EQ(settings.deliver_timeout, milliseconds(10'000));
    EXPECT_EQ(settings.deliver_concurrency, 16);
    EXPECT_EQ(settings.log_max_bytes, 0);
}

TEST_F(SettingsTest, FlagBeatsEnvBeatsFileBeatsDefault) {
    const std::string file = dir_.Write(
        "drip.env", "DRIP_CAPACITY=3\nDRIP_LEAK_RATE=3\nDRIP_QUEUE=file\n");
    env_["DRIP_CAPACITY"] = "2";
    env_["DRIP_LEAK_RATE"] = "2";

    const Settings settings = RunOk({"--env-file", file, "--capacity", "1"});
    EXPECT_EQ(settings.capacity, 1);
    EXPECT_EQ(settings.leak_rate, 2);
    EXPECT_EQ(settings.queue, "file");
    EXPECT_EQ(settings.port, 8000);
}

TEST_F(SettingsTest, EnvFileFlagBeatsEnvFileVariable) {
    env_["DRIP_ENV_FILE"] = dir_.Write("b.env", "DRIP_QUEUE=from_b\n");
    const std::string a = dir_.Write("a.env", "DRIP_QUEUE=from_a\n");
    EXPECT_EQ(RunOk({"--env-file=" + a}).queue, "from_a");
    EXPECT_EQ(RunOk({}).queue, "from_b");
}

TEST_F(SettingsTest, ReadsDotEnvInWorkingDirectory) {
    env_.erase("DRIP_ENV_FILE");
    dir_.Write(".env", "DRIP_CAPACITY=77\n");
    const ScopedWorkingDirectory cwd(dir_.path());
    EXPECT_EQ(RunOk({}).capacity, 77);
}

TEST_F(SettingsTest, MissingDotEnvInWorkingDirectoryIsFine) {
    env_.erase("DRIP_ENV_FILE");
    const ScopedWorkingDirectory cwd(dir_.path());
    EXPECT_EQ(RunOk({}), Settings{});
}

TEST_F(SettingsTest, BadDotEnvInWorkingDirectoryIsAnError) {
    env_.erase("DRIP_ENV_FILE");
    dir_.Write(".env", "DRIP_CAPACITY\n");
    const ScopedWorkingDirectory cwd(dir_.path());
    EXPECT_EQ(RunError({}), "env file: .env: line 1: expected KEY=VALUE");
}

TEST_F(SettingsTest, MissingEnvFileFlagIsAnError) {
    const std::string path = dir_.PathOf("absent.env");
    EXPECT_EQ(RunError({"--env-file", path}),
              "env file (--env-file): " + path + ": No such file or directory");
}

TEST_F(SettingsTest, MissingEnvFileVariableIsAnError) {
    const std::string path = dir_.PathOf("absent.env");
    env_["DRIP_ENV_FILE"] = "  " + path + " ";
    EXPECT_EQ(RunError({}), "env file (DRIP_ENV_FILE): " + path +
                                ": No such file or directory");
}

TEST_F(SettingsTest, EnvFileSyntaxErrorNamesLine) {
    const std::string path = dir_.Write("bad.env", "# ok\nDRIP_QUEUE='x\n");
    EXPECT_EQ(RunError({"--env-file", path}),
              "env file (--env-file): " + path +
                  ": line 2: unterminated single quote");
}

TEST_F(SettingsTest, IgnoresUnrelatedVariablesInEnvFile) {
    const std::string path =
        dir_.Write("mixed.env", "OTHER_TOOL=1\nDRIP_BIN=/x\nDRIP_PORT=9\n");
    EXPECT_EQ(RunOk({"--env-file", path}).port, 9);
}

TEST_F(SettingsTest, TrimsEnvAndFileValues) {
    const std::string path =
        dir_.Write("spaces.env", "DRIP_QUEUE=' jobs '\nDRIP_PORT=\" 81 \"\n");
    env_["DRIP_CAPACITY"] = "  12\t";
    const Settings settings = RunOk({"--env-file", path});
    EXPECT_EQ(settings.queue, "jobs");
    EXPECT_EQ(settings.port, 81);
    EXPECT_EQ(settings.capacity, 12);
}

TEST_F(SettingsTest, RepeatedFlagKeepsLastValue) {
    EXPECT_EQ(RunOk({"--capacity", "1", "--capacity", "2"}).capacity, 2);
}

TEST_F(SettingsTest, ResolvesOnlyTheCommandsSettings) {
    env_["DRIP_PORT"] = "not a port";
    const Settings settings = RunOk({"--queue", "q"}, {Setting::kQueue});
    EXPECT_EQ(settings.queue, "q");
    EXPECT_EQ(settings.port, 8000);
}

TEST_F(SettingsTest, UnaddedSettingIsNotAFlag) {
    CLI::App app;
    SettingsParser parser;
    parser.AddOptions(app, {Setting::kQueue});
    EXPECT_THROW(Parse(app, {"--port", "1"}), CLI::ExtrasError);
}

TEST_F(SettingsTest, KeepsFlagsPerSubcommand) {
    CLI::App app;
    CLI::App* serve = app.add_subcommand("serve");
    CLI::App* consume = app.add_subcommand("consume");
    SettingsParser parser;
    parser.AddOptions(*serve, {Setting::kQueue, Setting::kPort});
    parser.AddOptions(*consume, {Setting::kQueue, Setting::kLogFile});
    Parse(app, {"serve", "--queue", "jobs", "--port", "9000"});

    auto served = parser.Resolve(*serve, Getenv());
    ASSERT_TRUE(served) << served.error().detail;
    EXPECT_EQ(served.assume_value().queue, "jobs");
    EXPECT_EQ(served.assume_value().port, 9000);

    auto consumed = parser.Resolve(*consume, Getenv());
    ASSERT_TRUE(consumed) << consumed.error().detail;
    EXPECT_EQ(consumed.assume_value().queue, "default");
}

TEST_F(SettingsTest, AddingTheSameSettingTwiceIsHarmless) {
    CLI::App app;
    SettingsParser parser;
    parser.AddOptions(app, {Setting::kQueue, Setting::kPort});
    EXPECT_NO_THROW(parser.AddOptions(app, {Setting::kPort, Setting::kHost}));
    Parse(app, {"--port", "1", "--host", "h"});
    auto settings = parser.Resolve(app, Getenv());
    ASSERT_TRUE(settings) << settings.error().detail;
    EXPECT_EQ(settings.assume_value().port, 1);
    EXPECT_EQ(settings.assume_value().host, "h");
}

TEST_F(SettingsTest, ResolveWithoutAddOptionsIsInternalError) {
    CLI::App app;
    SettingsParser parser;
    auto settings = parser.Resolve(app, Getenv());
    ASSERT_FALSE(settings);
    EXPECT_EQ(ErrcOf(settings.error()), Errc::kInternal);
}

TEST_F(SettingsTest, HelpNamesVariableAndDefault) {
    CLI::App app;
    SettingsParser parser;
    parser.AddOptions(app, {Setting::kCapacity, Setting::kApiToken});
    EXPECT_EQ(app.get_option("--capacity")->get_description(),
              "messages the bucket holds [env DRIP_CAPACITY, default 1000]");
    EXPECT_THAT(app.get_option("--api-token")->get_description(),
                HasSubstr("[env DRIP_API_TOKEN, default unset]"));
    EXPECT_THAT(app.get_option("--env-file")->get_description(),
                HasSubstr("DRIP_ENV_FILE"));
}

TEST_F(SettingsTest, ErrorNamesSettingBothWaysAndTheOrigin) {
    env_["DRIP_CAPACITY"] = "-5";
    EXPECT_EQ(RunError({}),
              "invalid DRIP_CAPACITY (--capacity): must be an integer from 1 "
              "to 1000000000, got '-5' from the environment");
    EXPECT_EQ(RunError({"--capacity=0"}),
              "invalid DRIP_CAPACITY (--capacity): must be an integer from 1 "
              "to 1000000000, got '0' from the command line");

    env_.erase("DRIP_CAPACITY");
    const std::string path = dir_.Write("c.env", "DRIP_CAPACITY=lots\n");
    EXPECT_EQ(RunError({"--env-file", path}),
              "invalid DRIP_CAPACITY (--capacity): must be an integer from 1 "
              "to 1000000000, got 'lots' from " +
                  path);
}

// One rejected value per rule, each from the environment.
struct Rejection {
    std::string variable;
    std::string flag;
    std::string value;
    std::string rule;
};

class SettingsRejectionTest : public SettingsTest,
                              public ::testing::WithParamInterface<Rejection> {
};

TEST_P(SettingsRejectionTest, NamesTheSettingAndTheRule) {
    const Rejection& rejection = GetParam();
    env_[rejection.variable] = rejection.value;
    const std::string detail = RunError({});
    EXPECT_THAT(detail, StartsWith("invalid " + rejection.variable + " (" +
                                   rejection.flag + "): "));
    EXPECT_THAT(detail, HasSubstr(rejection.rule));
}

const std::string kSeconds =
    "must be a number of seconds from 0.001 to 31536000";

INSTANTIATE_TEST_SUITE_P(
    EveryRule, SettingsRejectionTest,
    ::testing::Values(
        Rejection{"DRIP_REDIS_URL", "--redis-url", "http://cache",
                  "unknown scheme 'http'"},
        Rejection{"DRIP_REDIS_URL", "--redis-url", "redis://cache:0",
                  "port out of range"},
        Rejection{"DRIP_QUEUE", "--queue", "has space", "1 to 200"},
        Rejection{"DRIP_QUEUE", "--queue", std::string(201, 'q'), "1 to 200"},
        Rejection{"DRIP_QUEUE", "--queue", "", "1 to 200"},
        Rejection{"DRIP_CAPACITY", "--capacity", "0", "from 1 to 1000000000"},
        Rejection{"DRIP_CAPACITY", "--capacity", "1000000001",
                  "from 1 to 1000000000"},
        Rejection{"DRIP_CAPACITY", "--capacity", "1e3", "integer"},
        Rejection{"DRIP_CAPACITY", "--capacity", "+5", "integer"},
        Rejection{"DRIP_CAPACITY", "--capacity", "5x", "integer"},
        Rejection{"DRIP_CAPACITY", "--capacity", "0x10", "integer"},
        Rejection{"DRIP_CAPACITY", "--capacity", "99999999999999999999",
                  "integer"},
        Rejection{"DRIP_LEAK_RATE", "--leak-rate", "0", "greater than 0"},
        Rejection{"DRIP_LEAK_RATE", "--leak-rate", "-1", "greater than 0"},
        Rejection{"DRIP_LEAK_RATE", "--leak-rate", "1000000.5",
                  "at most 1000000"},
        Rejection{"DRIP_LEAK_RATE", "--leak-rate", "inf", "greater than 0"},
        Rejection{"DRIP_LEAK_RATE", "--leak-rate", "nan", "greater than 0"},
        Rejection{"DRIP_LEAK_RATE", "--leak-rate", "+1", "greater than 0"},
        Rejection{"DRIP_LEAK_RATE", "--leak-rate", "1/s", "greater than 0"},
        Rejection{"DRIP_HOST", "--host", "", "must not be empty"},
        Rejection{"DRIP_PORT", "--port", "65536", "from 0 to 65535"},
        Rejection{"DRIP_PORT", "--port", "-1", "from 0 to 65535"},
        Rejection{"DRIP_LOG_FILE", "--log-file", "", "must not be empty"},
        Rejection{"DRIP_MAX_BODY_BYTES", "--max-body-bytes", "63",
                  "from 64 to 67108864"},
        Rejection{"DRIP_MAX_BODY_BYTES", "--max-body-bytes", "67108865",
                  "from 64 to 67108864"},
        Rejection{"DRIP_DELIVER_URL", "--deliver-url", "ftp://host/x",
                  "http:// or https://"},
        Rejection{"DRIP_DELIVER_URL", "--deliver-url", "http://",
                  "with a host"},
        Rejection{"DRIP_DELIVER_URL", "--deliver-url", "https:///path",
                  "with a host"},
        Rejection{"DRIP_DELIVER_URL", "--deliver-url", "http://h:99999/",
                  "port"},
        Rejection{"DRIP_DELIVER_URL", "--deliver-url", "http://h x/",
                  "with a host"},
        Rejection{"DRIP_MAX_ATTEMPTS", "--max-attempts", "0", "from 1 to 1000"},
        Rejection{"DRIP_MAX_ATTEMPTS", "--max-attempts", "1001",
                  "from 1 to 1000"},
        Rejection{"DRIP_VISIBILITY_TIMEOUT", "--visibility-timeout", "0",
                  kSeconds},
        Rejection{"DRIP_VISIBILITY_TIMEOUT", "--visibility-timeout", "-3",
                  kSeconds},
        Rejection{"DRIP_VISIBILITY_TIMEOUT", "--visibility-timeout", "0.0004",
                  kSeconds},
        Rejection{"DRIP_VISIBILITY_TIMEOUT", "--visibility-timeout", "1e300",
                  kSeconds},
        Rejection{"DRIP_VISIBILITY_TIMEOUT", "--visibility-timeout", "30s",
                  kSeconds},
        Rejection{"DRIP_CONSUMER_ID", "--consumer-id", "no spaces", "1 to 200"},
        Rejection{"DRIP_CONSUMER_ID", "--consumer-id", std::string(201, 'c'),
                  "1 to 200"},
        Rejection{"DRIP_LOG_LEVEL", "--log-level", "verbose",
                  "trace, debug, info, warn, error, off"},
        Rejection{"DRIP_LOG_FORMAT", "--log-format", "xml",
                  "must be text or json"},
        Rejection{"DRIP_THREADS", "--threads", "257", "from 0 to 256"},
        Rejection{"DRIP_THREADS", "--threads", "-1", "from 0 to 256"},
        Rejection{"DRIP_MAX_CONNECTIONS", "--max-connections", "0",
                  "from 1 to 1000000"},
        Rejection{"DRIP_MAX_CONNECTIONS", "--max-connections", "1000001",
                  "from 1 to 1000000"},
        Rejection{"DRIP_REQUEST_TIMEOUT", "--request-timeout", "0", kSeconds},
        Rejection{"DRIP_IDLE_TIMEOUT", "--idle-timeout", "-1", kSeconds},
        Rejection{"DRIP_DELIVER_TIMEOUT", "--deliver-timeout", "x", kSeconds},
        Rejection{"DRIP_DELIVER_CONCURRENCY", "--deliver-concurrency", "0",
                  "from 1 to 4096"},
        Rejection{"DRIP_DELIVER_CONCURRENCY", "--deliver-concurrency", "4097",
                  "from 1 to 4096"},
        Rejection{"DRIP_LOG_MAX_BYTES", "--log-max-bytes", "-1",
                  "integer of at least 0"}));

TEST_F(SettingsTest, AcceptsBoundaryValues) {
    const Settings settings = RunOk(
        {"--queue=" + std::string(200, 'q'), "--capacity=1000000000",
         "--leak-rate=1000000", "--port=65535", "--max-body-bytes=64",
         "--max-attempts=1000", "--threads=256", "--max-connections=1000000",
         "--deliver-concurrency=4096", "--log-max-bytes=9223372036854775807",
         "--visibility-timeout=31536000"});

    EXPECT_EQ(settings.queue, std::string(200, 'q'));
    EXPECT_EQ(settings.capacity, 1'000'000'000);
    EXPECT_EQ(settings.leak_rate, 1'000'000);
    EXPECT_EQ(settings.port, 65535);
    EXPECT_EQ(settings.max_body_bytes, 64);
    EXPECT_EQ(settings.max_attempts, 1000);
    EXPECT_EQ(settings.threads, 256);
    EXPECT_EQ(settings.max_connections, 1'000'000);
    EXPECT_EQ(settings.deliver_concurrency, 4096);
    EXPECT_EQ(settings.log_max_bytes, 9'223'372'036'854'775'807);
    EXPECT_EQ(settings.visibility_timeout, milliseconds(31'536'000'000));
}

TEST_F(SettingsTest, PortZeroMeansAnyFreePort) {
    EXPECT_EQ(RunOk({"--port", "0"}).port, 0);
}

TEST_F(SettingsTest, ParsesDecimals) {
    EXPECT_EQ(RunOk({"--leak-rate", "0.5"}).leak_rate, 0.5);
    EXPECT_EQ(RunOk({"--leak-rate", "1e-2"}).leak_rate, 0.01);
    EXPECT_EQ(RunOk({"--leak-rate", ".25"}).leak_rate, 0.25);
}

TEST_F(SettingsTest, ConvertsSecondsToMilliseconds) {
    const Settings settings =
        RunOk({"--visibility-timeout", "0.5", "--request-timeout", "1e-2",
               "--idle-timeout", "2", "--deliver-timeout", "0.001"});
    EXPECT_EQ(settings.visibility_timeout, milliseconds(500));
    EXPECT_EQ(settings.request_timeout, milliseconds(10));
    EXPECT_EQ(settings.idle_timeout, milliseconds(2000));
    EXPECT_EQ(settings.deliver_timeout, milliseconds(1));
}

TEST_F(SettingsTest, FlagValuesAreNotTrimmed) {
    EXPECT_THAT(RunError({"--capacity", " 5"}), HasSubstr("got ' 5'"));
}

TEST_F(SettingsTest, ParsesRedisUrl) {
    env_["DRIP_REDIS_URL"] = "rediss://app:pw@cache:6380/2";
    const Settings settings = RunOk({});
    EXPECT_EQ(settings.redis_url, "rediss://app:pw@cache:6380/2");
    EXPECT_EQ(settings.redis.scheme, RedisUrl::Scheme::kTls);
    EXPECT_EQ(settings.redis.password, "pw");
    EXPECT_EQ(settings.redis.db, 2);
}

TEST_F(SettingsTest, RedisUrlErrorMasksThePassword) {
    env_["DRIP_REDIS_URL"] = "redis://app:hunter2@cache:0/1";
    const std::string detail = RunError({});
    EXPECT_THAT(detail, Not(HasSubstr("hunter2")));
    EXPECT_THAT(detail, HasSubstr("got 'redis://app:***@cache:0/1'"));
}

TEST_F(SettingsTest, DeliverUrlErrorMasksThePassword) {
    env_["DRIP_DELIVER_URL"] = "http://u:hunter2@h:0/x";
    EXPECT_THAT(RunError({}), Not(HasSubstr("hunter2")));
}

TEST_F(SettingsTest, AcceptsDeliverUrls) {
    for (const char* url : {"http://hook", "https://hook.example:8443/in?x=1",
                            "http://u:p@hook/", "http://[::1]:9000/x"}) {
        env_["DRIP_DELIVER_URL"] = url;
        EXPECT_EQ(RunOk({}).deliver_url, url);
    }
}

TEST_F(SettingsTest, EmptyOptionalCountsAsUnset) {
    env_["DRIP_API_TOKEN"] = "";
    env_["DRIP_DELIVER_URL"] = "  ";
    env_["DRIP_CONSUMER_ID"] = "";
    const Settings settings = RunOk({});
    EXPECT_FALSE(settings.api_token);
    EXPECT_FALSE(settings.deliver_url);
    EXPECT_FALSE(settings.consumer_id);
}

TEST_F(SettingsTest, EmptyEnvironmentValueUnsetsTokenFromFile) {
    const std::string path = dir_.Write("t.env", "DRIP_API_TOKEN=secret\n");
    EXPECT_EQ(RunOk({"--env-file", path}).api_token, "secret");
    env_["DRIP_API_TOKEN"] = "";
    EXPECT_FALSE(RunOk({"--env-file", path}).api_token);
}

TEST_F(SettingsTest, EmptyFlagValueIsAValue) {
    EXPECT_THAT(RunError({"--host", ""}),
                StartsWith("invalid DRIP_HOST (--host): must not be empty"));
    EXPECT_FALSE(RunOk({"--api-token", ""}).api_token);
}

TEST_F(SettingsTest, ReadsOptionalStrings) {
    const Settings settings =
        RunOk({"--api-token", "t0k3n", "--consumer-id", "host-1:worker/2.a_b"});
    EXPECT_EQ(settings.api_token, "t0k3n");
    EXPECT_EQ(settings.consumer_id, "host-1:worker/2.a_b");
}

TEST_F(SettingsTest, LogChoicesIgnoreCase) {
    const Settings settings =
        RunOk({"--log-level", "WARN", "--log-format", "Json"});
    EXPECT_EQ(settings.log_level, "warn");
    EXPECT_EQ(settings.log_format, "json");
    for (const char* level :
         {"trace", "debug", "info", "warn", "error", "off"}) {
        EXPECT_EQ(RunOk({"--log-level", level}).log_level, level);
    }
}

TEST(SettingVariablesTest, ListsOneDripVariablePerSetting) {
    const std::vector<std::string> variables = SettingVariables();
    EXPECT_EQ(variables.size(), kAll.size());
    EXPECT_EQ(std::set(variables.begin(), variables.end()).size(),
              variables.size());
    for (const std::string& variable : variables) {
        EXPECT_THAT(variable, StartsWith("DRIP_"));
    }
    EXPECT_EQ(variables.front(), "DRIP_REDIS_URL");
    EXPECT_EQ(variables.back(), "DRIP_REDIS_CA_FILE");
}

TEST(SampleEnvTest, ListsEveryVariable) {
    const std::string sample = SampleEnv();
    for (const std::string& variable : SettingVariables()) {
        EXPECT_THAT(sample, HasSubstr(variable + "=")) << variable;
    }
}

TEST(SampleEnvTest, CommentsOutSettingsUnsetByDefault) {
    const std::string sample = SampleEnv();
    EXPECT_THAT(sample, HasSubstr("\n# DRIP_API_TOKEN=\n"));
    EXPECT_THAT(sample, HasSubstr("\n# DRIP_DELIVER_URL=\n"));
    EXPECT_THAT(sample, HasSubstr("\n# DRIP_CONSUMER_ID=\n"));
    EXPECT_THAT(sample, HasSubstr("(default 1000)\nDRIP_CAPACITY=1000\n"));
}

TEST(SampleEnvTest, FitsEightyColumns) {
    std::istringstream lines(SampleEnv());
    std::string line;
    while (std::getline(lines, line)) {
        EXPECT_LE(line.size(), 80u) << line;
    }
}

TEST_F(SettingsTest, SampleEnvResolvesToTheDefaults) {
    const std::string path = dir_.Write("sample.env", SampleEnv());
    auto parsed = ReadDotenvFile(path, true);
    ASSERT_TRUE(parsed) << parsed.error().detail;
    // Five settings are unset by default and commented out.
    EXPECT_EQ(parsed.assume_value().size(), kAll.size() - 5);
    EXPECT_EQ(RunOk({"--env-file", path}), Settings{});
}

}  // namespace
}  // namespace drip::config

namespace drip::config {
namespace {

// sample.env is generated from the settings table; this keeps the copy in
// the repository in step. DRIP_WRITE_SAMPLE_ENV=1 rewrites it.
TEST(SampleEnvTest, MatchesTheFileInTheRepository) {
    const std::string path = std::string(DRIP_SOURCE_DIR) + "/sample.env";
    if (std::getenv("DRIP_WRITE_SAMPLE_ENV") != nullptr) {
        std::ofstream(path) << SampleEnv();
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), SampleEnv())
        << "sample.env is stale: run DRIP_WRITE_SAMPLE_ENV=1 "
           "build/drip_config_test --gtest_filter='SampleEnvTest.*'";
}

}  // namespace
}  // namespace drip::config
