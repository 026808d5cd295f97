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
        var settings = new RecoveryOptions { RestoreCommand = "cmd", TargetLsn = Wal.Lsn.Parse("0/3000028"), TargetAction = "promote" }.Settings().ToList();
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
}
