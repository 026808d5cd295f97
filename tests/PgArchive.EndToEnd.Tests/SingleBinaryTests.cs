using System.Security.Cryptography;

namespace PgArchive.EndToEnd;

/// <summary>
/// The release as a user gets it: the Native AOT executable alone (libsodium inside it), and what a user sees
/// when libsodium cannot be loaded. scripts/release.sh --check runs these against the binary it built
/// (PGARCHIVE_CLI); under the default framework-dependent publish the single-binary test is skipped.
/// </summary>
public sealed class SingleBinaryTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private Dictionary<string, string?> LibsodiumSettings => new(_workspace.FileArchiveSettings)
    {
        ["WALG_COMPRESSION_METHOD"] = "zstd",
        ["WALG_LIBSODIUM_KEY"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
        ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "hex",
    };

    [Fact]
    public async Task Copied_alone_into_an_empty_directory_the_binary_encrypts_with_libsodium_and_restores_a_backup()
    {
        Assert.SkipUnless(cli.IsSingleBinary, $"{cli.Executable} is a framework-dependent build; scripts/release.sh --check runs this against the Native AOT binary");
        var alone = _workspace.CreateDirectory("alone");
        var copy = Path.Combine(alone, "pgarchive");
        File.Copy(cli.Executable, copy);
        File.SetUnixFileMode(copy, (UnixFileMode)0b111_101_101);
        Assert.Equal(["pgarchive"], Directory.EnumerateFileSystemEntries(alone).Select(Path.GetFileName));

        var report = await PitrScenario.RunAsync(PgArchiveCli.At(copy), _workspace, LibsodiumSettings);

        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
        Assert.Equal(["pgarchive"], Directory.EnumerateFileSystemEntries(alone).Select(Path.GetFileName)); // nothing unpacked beside it
        var segment = Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "wal_005"), "0000000*.zst").Order(StringComparer.Ordinal).First();
        var head = (await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken))[..4];
        Assert.NotEqual(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, head); // encrypted: no zstd magic in the clear
    }

    [Fact]
    public async Task Without_a_loadable_libsodium_encryption_fails_with_one_line_naming_it()
    {
        Assert.SkipWhen(cli.IsSingleBinary, "the single binary carries libsodium inside; this covers the portable build missing its runtimes/ libsodium.so");
        var install = _workspace.CreateDirectory("install");
        foreach (var file in Directory.EnumerateFiles(Path.GetDirectoryName(cli.Executable)!, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) != "libsodium.so")
            {
                var target = Path.Combine(install, Path.GetRelativePath(Path.GetDirectoryName(cli.Executable)!, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }

        ProcessRunner.GiveToOsUser(install);
        var segment = _workspace.PathFor("000000010000000000000001");
        await File.WriteAllBytesAsync(segment, PgArchive.Support.WalSegments.Create("000000010000000000000001", RandomNumberGenerator.GetBytes), TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(segment);

        var result = await PgArchiveCli.At(Path.Combine(install, "pgarchive")).RunAsync(LibsodiumSettings, "wal-push", segment);

        Assert.True(result.ExitCode == 1, $"exit {result.ExitCode}, want 1; stderr: {result.Stderr}");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "want one line, got: " + result.Stderr);
        Assert.Contains("libsodium", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected error", lines[0], StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory), "*", SearchOption.AllDirectories));
    }
}
