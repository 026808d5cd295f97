using System.Security.Cryptography;
using System.Text.RegularExpressions;
using PgArchive.Support;

namespace PgArchive.EndToEnd;

/// <summary>
/// <c>pgarchive st</c> (WAL-G's storage tools) on a local-filesystem archive: objects put through the configured
/// compression and encryption come back byte for byte, what is stored is what the real <c>lz4</c> / <c>zstd</c> tools
/// read, listings have WAL-G's columns, and mistakes fail in one line without touching what is there.
/// </summary>
public sealed partial class StorageToolsTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private Dictionary<string, string?> Encrypted(string method = "lz4") => new(_workspace.FileArchiveSettings)
    {
        ["WALG_COMPRESSION_METHOD"] = method,
        ["WALG_LIBSODIUM_KEY"] = _key,
        ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "base64",
    };

    private async Task<ProcessResult> St(Dictionary<string, string?> settings, params string[] args) =>
        await cli.RunAsync(settings, ["st", .. args]);

    private string LocalFile(string name, byte[] content)
    {
        var path = _workspace.PathFor(name);
        File.WriteAllBytes(path, content);
        ProcessRunner.GiveToOsUser(path);
        return path;
    }

    private string Stored(string key) => Path.Combine(_workspace.ArchiveDirectory, key);

    private static byte[] Content(int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes.AsSpan(0, size / 2)); // half noise, half zeros: something to compress
        return bytes;
    }

    [Fact]
    public async Task Put_then_get_round_trips_through_compression_and_encryption()
    {
        var content = Content(3 << 20);
        var source = LocalFile("source.bin", content);
        (await St(Encrypted(), "put", source, "some/folder/object.bin")).EnsureSuccess("st put");

        Assert.True(File.Exists(Stored("some/folder/object.bin.lz4")), "st put appends the compression method's extension, as WAL-G does");
        Assert.NotEqual(content, File.ReadAllBytes(Stored("some/folder/object.bin.lz4")));
        var lz4OfStored = await ExternalTool.RunAsync("lz4", ["-dc", Stored("some/folder/object.bin.lz4")]);
        Assert.NotEqual(0, lz4OfStored.ExitCode); // encrypted: not an lz4 frame until decrypted

        var target = _workspace.CreateDirectory("got");
        (await St(Encrypted(), "get", "some/folder/object.bin.lz4", target)).EnsureSuccess("st get");
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(target, "object.bin.lz4")));

        (await St(Encrypted(), "get", "some/folder/object.bin.lz4", Path.Combine(target, "raw"), "--no-decrypt", "--no-decompress")).EnsureSuccess("st get raw");
        Assert.Equal(File.ReadAllBytes(Stored("some/folder/object.bin.lz4")), File.ReadAllBytes(Path.Combine(target, "raw")));
    }

    [Theory]
    [InlineData("lz4", "lz4", "lz4")]
    [InlineData("zstd", "zst", "zstd")]
    public async Task Unencrypted_put_stores_what_the_real_tool_decompresses(string method, string extension, string tool)
    {
        var content = Content(1 << 20);
        var source = LocalFile("plain.bin", content);
        (await St(Encrypted(method), "put", "--no-encrypt", source, "plain.bin")).EnsureSuccess("st put --no-encrypt");

        var decoded = await ExternalTool.RunAsync(tool, ["-dc", Stored("plain.bin." + extension)]);
        decoded.EnsureSuccess(tool + " -dc");
        Assert.Equal(content, decoded.Stdout);
    }

    [Fact]
    public async Task Cat_prints_the_stored_bytes_unless_asked_to_decrypt_and_decompress()
    {
        var source = LocalFile("note.json", "{\"hello\":\"world\"}\n"u8.ToArray());
        (await St(Encrypted(), "put", "--no-compress", "--no-encrypt", source, "meta/note.json")).EnsureSuccess("st put");
        Assert.Equal("{\"hello\":\"world\"}\n", (await St(Encrypted(), "cat", "meta/note.json")).EnsureSuccess("st cat").Stdout);

        (await St(Encrypted(), "put", source, "meta/sealed.json")).EnsureSuccess("st put");
        var decoded = (await St(Encrypted(), "cat", "--decrypt", "--decompress", "meta/sealed.json.lz4")).EnsureSuccess("st cat --decrypt --decompress");
        Assert.Equal("{\"hello\":\"world\"}\n", decoded.Stdout);
    }

    [Fact]
    public async Task Ls_lists_a_folder_with_wal_g_columns_and_recursively_with_r()
    {
        var source = LocalFile("x.bin", Content(1000));
        (await St(Encrypted(), "put", "--no-compress", source, "a/b/one")).EnsureSuccess("st put");
        (await St(Encrypted(), "put", "--no-compress", source, "a/two")).EnsureSuccess("st put");

        var top = (await St(Encrypted(), "ls")).EnsureSuccess("st ls").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^type +size +last modified +name", top[0]);
        Assert.Matches(@"^dir +0 +0001-01-01 00:00:00 \+0000 UTC +a/", top[1]);
        Assert.Equal(2, top.Length);

        var folder = (await St(Encrypted(), "ls", "a")).EnsureSuccess("st ls a").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^dir +0 +0001-01-01 00:00:00 \+0000 UTC +b/", folder[1]);
        Assert.Matches(ObjectRow("two"), folder[2]);
        Assert.Equal(3, folder.Length);

        var deep = (await St(Encrypted(), "ls", "-r", "a")).EnsureSuccess("st ls -r a").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(ObjectRow("b/one"), deep[1]);
        Assert.Matches(ObjectRow("two"), deep[2]);

        var stat = (await St(Encrypted(), "stat", "a/b/one")).EnsureSuccess("st stat").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(ObjectRow("a/b/one"), stat[1]);
    }

    // An object row: its stored size (libsodium adds 41 bytes to 1000) and a Go time.Time string in UTC.
    private static Regex ObjectRow(string name) => new($@"^obj +1041 +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC +{Regex.Escape(name)} *$");

    [Fact]
    public async Task Rm_removes_an_object_or_a_whole_folder()
    {
        var source = LocalFile("x.bin", Content(100));
        foreach (var key in new[] { "f/one", "f/sub/two", "fx/three" })
        {
            (await St(Encrypted(), "put", "--no-compress", source, key)).EnsureSuccess("st put " + key);
        }

        (await St(Encrypted(), "rm", "f/one")).EnsureSuccess("st rm object");
        Assert.False(File.Exists(Stored("f/one")));
        Assert.True(File.Exists(Stored("f/sub/two")));

        (await St(Encrypted(), "rm", "f")).EnsureSuccess("st rm folder");
        Assert.False(File.Exists(Stored("f/sub/two")));
        Assert.True(File.Exists(Stored("fx/three")), "a folder is removed by its path, not by a name prefix");

        var missing = await St(Encrypted(), "rm", "f");
        AssertOneLineFailure(missing, "Object or folder 'f' does not exist.");
    }

    [Fact]
    public async Task Check_read_and_write_report_on_the_store()
    {
        var source = LocalFile("x.bin", Content(100));
        (await St(Encrypted(), "put", "--no-compress", source, "present")).EnsureSuccess("st put");
        (await St(Encrypted(), "check", "read", "present")).EnsureSuccess("st check read");
        AssertOneLineFailure(await St(Encrypted(), "check", "read", "present", "absent"), "Objects are missing: absent.");

        (await St(Encrypted(), "check", "write")).EnsureSuccess("st check write");
        Assert.Equal(["present"], Directory.GetFiles(_workspace.ArchiveDirectory).Select(Path.GetFileName)); // the check object is gone again
    }

    [Fact]
    public async Task Mistakes_fail_in_one_line_and_leave_what_is_there()
    {
        var first = LocalFile("first.bin", Content(100));
        var second = LocalFile("second.bin", Content(200));
        (await St(Encrypted(), "put", "--no-compress", first, "kept")).EnsureSuccess("st put");

        AssertOneLineFailure(await St(Encrypted(), "put", "--no-compress", second, "kept"), "Object kept already exists; add --force to overwrite it.");
        var target = _workspace.CreateDirectory("out");
        (await St(Encrypted(), "get", "kept", Path.Combine(target, "kept"))).EnsureSuccess("st get");
        Assert.Equal(Content(100), File.ReadAllBytes(Path.Combine(target, "kept")));

        AssertOneLineFailure(await St(Encrypted(), "get", "kept", Path.Combine(target, "kept")), "already exists");
        Assert.Equal(Content(100), File.ReadAllBytes(Path.Combine(target, "kept")));

        AssertOneLineFailure(await St(Encrypted(), "get", "absent", Path.Combine(target, "absent")), "absent");
        Assert.False(File.Exists(Path.Combine(target, "absent")));

        var otherKey = new Dictionary<string, string?>(Encrypted()) { ["WALG_LIBSODIUM_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) };
        AssertOneLineFailure(await St(otherKey, "get", "kept", Path.Combine(target, "wrong-key")), "fails authentication");
        Assert.False(File.Exists(Path.Combine(target, "wrong-key")), "a failed download leaves no file behind");

        (await St(Encrypted(), "put", "--no-compress", "--force", second, "kept")).EnsureSuccess("st put --force");
        (await St(Encrypted(), "get", "kept", Path.Combine(target, "replaced"))).EnsureSuccess("st get");
        Assert.Equal(Content(200), File.ReadAllBytes(Path.Combine(target, "replaced")));

        AssertOneLineFailure(await St(Encrypted(), "put", second), "st put needs a local path and a destination path", exitCode: 2);
    }

    private static void AssertOneLineFailure(ProcessResult result, string expected, int exitCode = 1)
    {
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}, want {exitCode}; stderr: {result.Stderr}");
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected error", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
