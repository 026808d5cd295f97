namespace PgArchive.Backups;

public sealed class RecoveryOptionsTests
{
    [Theory]
    [InlineData("2026-11-25 02:00:00+00")]
    [InlineData("2026-11-25 02:00:00.123456+00")]
    [InlineData("2026-11-25T02:00:00Z")]
    [InlineData("2026-11-25 02:00:00+05:30")]
    public void Timestamps_PostgreSQL_prints_are_accepted(string time) =>
        new RecoveryOptions { RestoreCommand = "x", TargetTime = time }.Validate();

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2026-13-45 99:00:00")]
    public void Bad_timestamps_are_refused_naming_the_option(string time)
    {
        var ex = Assert.Throws<PgArchiveConfigurationException>(() => new RecoveryOptions { RestoreCommand = "x", TargetTime = time }.Validate());
        Assert.Contains("--recovery-target-time", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_targets_are_refused() =>
        Assert.Throws<PgArchiveConfigurationException>(() =>
            new RecoveryOptions { RestoreCommand = "x", TargetTime = "2026-11-25 02:00:00+00", TargetName = "p" }.Validate());

    [Fact]
    public void Bad_action_is_refused() =>
        Assert.Throws<PgArchiveConfigurationException>(() => new RecoveryOptions { RestoreCommand = "x", TargetAction = "explode" }.Validate());

    [Fact]
    public void Settings_list_restore_command_and_target()
    {
        var settings = new RecoveryOptions { RestoreCommand = "cmd", TargetLsn = PostgresTypes.Lsn.Parse("0/3000028"), TargetAction = "promote" }.Settings().ToList();
        Assert.Equal([("restore_command", "cmd"), ("recovery_target_lsn", "0/3000028"), ("recovery_target_action", "promote")], settings);
    }

    [Theory]
    [InlineData("restore_command", "cmd\nshutdown")]
    [InlineData("recovery_target_name", "a\rb")]
    public void Line_breaks_in_a_setting_are_refused_naming_it(string setting, string value)
    {
        var options = setting == "restore_command" ? new RecoveryOptions { RestoreCommand = value } : new RecoveryOptions { RestoreCommand = "x", TargetName = value };

        var ex = Assert.Throws<PgArchiveConfigurationException>(options.Validate);

        Assert.Contains(setting, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100000, "recovery_target_timeline=latest")]
    [InlineData(110022, "recovery_target_timeline=latest")]
    [InlineData(120000, "")]
    [InlineData(180001, "")]
    public void Before_PostgreSQL_12_the_latest_timeline_is_asked_for_whose_default_there_is_current(int version, string expected)
    {
        var settings = new RecoveryOptions { RestoreCommand = "cmd" }.Settings(version).Skip(1).Select(s => s.Name + "=" + s.Value);

        Assert.Equal(expected, string.Join(' ', settings));
    }

    [Theory]
    [InlineData(110000, "restore_command=cmd recovery_target_timeline=latest standby_mode=on primary_conninfo=host=p port=5")]
    [InlineData(120000, "restore_command=cmd recovery_target_timeline=latest primary_conninfo=host=p port=5")]
    public void Standby_settings_follow_the_latest_timeline_with_standby_mode_before_PostgreSQL_12(int version, string expected)
    {
        var options = new RecoveryOptions { RestoreCommand = "cmd", Standby = true, PrimaryConnInfo = "host=p port=5" };
        options.Validate();

        Assert.Equal(expected, string.Join(' ', options.Settings(version).Select(s => s.Name + "=" + s.Value)));
    }

    [Theory]
    [InlineData("time", "--recovery-target-time")]
    [InlineData("lsn", "--recovery-target-lsn")]
    [InlineData("name", "--recovery-target-name")]
    [InlineData("action", "--recovery-target-action")]
    public void Standby_with_a_recovery_target_is_refused_naming_the_option(string target, string option)
    {
        var options = new RecoveryOptions
        {
            RestoreCommand = "x", Standby = true,
            TargetTime = target == "time" ? "2026-11-25 02:00:00+00" : null, TargetLsn = target == "lsn" ? PostgresTypes.Lsn.Parse("0/3000028") : null,
            TargetName = target == "name" ? "p" : null, TargetAction = target == "action" ? "promote" : null,
        };

        var ex = Assert.Throws<PgArchiveConfigurationException>(options.Validate);

        Assert.Equal($"--standby cannot be combined with {option}: a standby replays the archive without end until it is promoted.", ex.Message);
    }

    [Fact]
    public void Primary_conninfo_without_standby_is_refused() =>
        Assert.Contains("--primary-conninfo needs --standby", Assert.Throws<PgArchiveConfigurationException>(
            new RecoveryOptions { RestoreCommand = "x", PrimaryConnInfo = "host=p" }.Validate).Message, StringComparison.Ordinal);
}
