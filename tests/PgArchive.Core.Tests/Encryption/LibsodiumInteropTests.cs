using PgArchive.Support;

namespace PgArchive.Encryption;

/// <summary>
/// Byte compatibility with WAL-G's libsodium objects, checked against an implementation that is not ours:
/// Debian's python3-nacl (libsodium's own secretstream) driving WAL-G's framing as written out in
/// <c>Interop/walg_secretstream.py</c>.
/// </summary>
public sealed class LibsodiumInteropTests : IAsyncLifetime
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Interop", "walg_secretstream.py");
    private readonly byte[] _key = Codecs.RandomKey();

    public async ValueTask InitializeAsync() => await DebianPackages.EnsureInstalledAsync("python3", "python3-nacl");

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private Task<ToolResult> RunAsync(string mode, byte[] input) =>
        ExternalTool.RunAsync("/usr/bin/python3", [Script, mode], input,
            new Dictionary<string, string> { ["WALG_TEST_LIBSODIUM_KEY_HEX"] = Convert.ToHexString(_key) });

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(8192)]
    [InlineData(8193)]
    [InlineData(2 * 8192)]
    [InlineData(1_000_003)]
    public async Task Our_output_decrypts_with_libsodium_in_walg_framing(int length)
    {
        var data = Codecs.Data(length);
        var stored = await Codecs.EncryptAsync(new LibsodiumEncryptor(_key), data);

        var result = (await RunAsync("decrypt", stored)).EnsureSuccess("walg_secretstream.py decrypt");

        Assert.True(Codecs.Same(data, result.Stdout), $"{length} bytes decrypted differently");
        Assert.Equal("final", result.Stderr);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(8192)]
    [InlineData(8193)]
    [InlineData(2 * 8192)]
    [InlineData(1_000_003)]
    public async Task Libsodium_output_in_walg_framing_decrypts_with_ours(int length)
    {
        var data = Codecs.Data(length, seed: length);
        var stored = (await RunAsync("encrypt", data)).EnsureSuccess("walg_secretstream.py encrypt").Stdout;

        Assert.Equal(24 + (length / 8192 * 8209) + (length % 8192) + 17, stored.Length);
        Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(new LibsodiumEncryptor(_key), stored)));
    }

    [Fact]
    public async Task Walg_reader_accepts_a_stream_cut_at_a_chunk_boundary_where_ours_refuses()
    {
        // The reason PgArchive insists on FINAL: WAL-G's reader would silently return a shortened object.
        var data = Codecs.Data(3 * 8192 + 5);
        var stored = await Codecs.EncryptAsync(new LibsodiumEncryptor(_key), data);
        var cut = stored[..(24 + (2 * 8209))];

        var walg = (await RunAsync("decrypt", cut)).EnsureSuccess("walg_secretstream.py decrypt");
        Assert.Equal(2 * 8192, walg.Stdout.Length);
        Assert.Equal("no-final", walg.Stderr);

        await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(new LibsodiumEncryptor(_key), cut));
    }
}
