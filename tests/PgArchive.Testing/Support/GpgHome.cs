using System.Text;

namespace PgArchive.Support;

/// <summary>
/// A throwaway gpg home (Debian's gnupg) with three keys, exported for the tests:
/// <list type="bullet">
/// <item><c>Rsa</c>: RSA-2048 sign-only primary key plus an RSA encryption subkey, protected by <see cref="Passphrase"/>;</item>
/// <item><c>Curve</c>: ed25519 primary plus cv25519 encryption subkey (gpg's "future-default"), no passphrase;</item>
/// <item><c>Other</c>: another curve key, standing for "a key this archive was not written with".</item>
/// </list>
/// Passphrases reach gpg on standard input. Disposing stops the gpg-agent of this home and deletes it.
/// </summary>
public sealed class GpgHome : IAsyncLifetime
{
    public const string Passphrase = "correct horse battery staple ünïcode";

    public string Home { get; } = Directory.CreateTempSubdirectory("pgarchive-gnupg-").FullName;

    public GpgKey Rsa { get; private set; } = null!;

    public GpgKey Curve { get; private set; } = null!;

    public GpgKey Other { get; private set; } = null!;

    private Dictionary<string, string> Environment => new() { ["GNUPGHOME"] = Home };

    public async ValueTask InitializeAsync()
    {
        await DebianPackages.EnsureInstalledAsync("gnupg");
        Rsa = await CreateAsync("rsa@pgarchive.invalid", "rsa2048", "sign", "rsa2048", Passphrase);
        Curve = await CreateAsync("curve@pgarchive.invalid", "ed25519", "sign", "cv25519", null);
        Other = await CreateAsync("other@pgarchive.invalid", "ed25519", "sign", "cv25519", null);
    }

    public async ValueTask DisposeAsync()
    {
        await ExternalTool.RunAsync("gpgconf", ["--kill", "all"], environment: Environment);
        Directory.Delete(Home, recursive: true);
    }

    /// <summary>Runs gpg in this home in batch mode; <paramref name="passphrase"/> goes through standard input.</summary>
    public Task<ToolResult> GpgAsync(IEnumerable<string> arguments, string? passphrase = null, byte[]? stdin = null)
    {
        string[] common = passphrase is null
            ? ["--batch", "--yes", "--no-tty", "--trust-model", "always"]
            : ["--batch", "--yes", "--no-tty", "--trust-model", "always", "--pinentry-mode", "loopback", "--passphrase-fd", "0"];
        var input = passphrase is null ? stdin : Encoding.UTF8.GetBytes(passphrase + "\n");
        return ExternalTool.RunAsync("gpg", [.. common, .. arguments], input, Environment);
    }

    private async Task<GpgKey> CreateAsync(string uid, string primary, string usage, string subkey, string? passphrase)
    {
        var protection = passphrase is null ? new[] { "--pinentry-mode", "loopback", "--passphrase", "" } : [];
        (await GpgAsync([.. protection, "--quick-gen-key", uid, primary, usage, "never"], passphrase)).EnsureSuccess("gpg --quick-gen-key " + uid);
        var listing = (await GpgAsync(["--with-colons", "--list-secret-keys", uid])).EnsureSuccess("gpg --list-secret-keys").StdoutText;
        var fingerprint = listing.Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        (await GpgAsync([.. protection, "--quick-add-key", fingerprint, subkey, "encr", "never"], passphrase)).EnsureSuccess("gpg --quick-add-key " + uid);
        listing = (await GpgAsync(["--with-colons", "--list-keys", fingerprint])).EnsureSuccess("gpg --list-keys").StdoutText;
        var subkeyId = listing.Split('\n').Last(l => l.StartsWith("sub:", StringComparison.Ordinal)).Split(':')[4];
        var publicKey = (await GpgAsync(["--armor", "--export", fingerprint])).EnsureSuccess("gpg --export").StdoutText;
        var publicBinary = (await GpgAsync(["--export", fingerprint])).EnsureSuccess("gpg --export").Stdout;
        var secretKey = (await GpgAsync([.. protection, "--armor", "--export-secret-keys", fingerprint], passphrase)).EnsureSuccess("gpg --export-secret-keys").StdoutText;
        return new GpgKey(fingerprint, subkeyId, publicKey, publicBinary, secretKey);
    }
}

/// <summary>One generated key: its fingerprint, its encryption subkey's id, and the exports.</summary>
public sealed record GpgKey(string Fingerprint, string EncryptionSubkeyId, string ArmoredPublic, byte[] BinaryPublic, string ArmoredSecret);
