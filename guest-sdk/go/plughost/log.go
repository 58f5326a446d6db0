package plughost

import (
	"fmt"

	witconfig "plughost/wit/imports/plughost_platform_config"
	witlog "plughost/wit/imports/plughost_platform_log"
)

// LogLevel is the severity of a log line.
type LogLevel = witlog.Level

const (
	LevelTrace LogLevel = witlog.Level_Trace
	LevelDebug LogLevel = witlog.Level_Debug
	LevelInfo  LogLevel = witlog.Level_Info
	LevelWarn  LogLevel = witlog.Level_Warn
	LevelError LogLevel = witlog.Level_Error
)

// Log writes one fmt-formatted line into the host's log, tagged with module, tenant and
// request id (always granted).
func Log(level LogLevel, format string, args ...any) {
	witlog.Write(level, fmt.Sprintf(format, args...))
}

// Trace, Debug, Info, Warn and LogError are Log at each level.
func Trace(format string, args ...any)    { Log(LevelTrace, format, args...) }
func Debug(format string, args ...any)    { Log(LevelDebug, format, args...) }
func Info(format string, args ...any)     { Log(LevelInfo, format, args...) }
func Warn(format string, args ...any)     { Log(LevelWarn, format, args...) }
func LogError(format string, args ...any) { Log(LevelError, format, args...) }

// Config is the config value of `key`; ok is false when the key is granted but unset, and
// the error `denied` outside the module's config grant.
func Config(key string) (value string, ok bool, err error) {
	got, err := unwrap(witconfig.Get(key))
	if err != nil || got.IsNone() {
		return "", false, err
	}
	return got.Some(), true, nil
}
