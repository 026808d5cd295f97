using PgArchive.Support;

namespace PgArchive.Encryption;

/// <summary>
/// OpenPGP with keys made by Debian's gpg: round trips, failures, and interop both ways (gpg decrypts what we
/// write; we decrypt what gpg writes, compressed or not as WAL-E wrote it, signed, to hidden recipients).
/// </summary>
public sealed class PgpEncryptorTests(GpgHome gpg) : IClassFixture<GpgHome>
{
    private string NewFile(string name) => Path.Combine(gpg.Home, Guid.NewGuid().ToString("N") + "-" + name);

    private PgpEncryptor RsaSecret => new(new PgpEncryptorOptions { Key = gpg.Rsa.ArmoredSecret, Passphrase = GpgHome.Passphrase });

    private PgpEncryptor CurveSecret => new(new PgpEncryptorOptions { Key = gpg.Curve.ArmoredSecret });

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(8192, true)]
    [InlineData(1_000_003, true)]
    [InlineData(70_000, false)]
    public async Task Round_trip_returns_the_input(int length, bool asynchronous)
    {
        var data = Codecs.Data(length);
        foreach (var encryptor in new[] { RsaSecret, CurveSecret })
        {
            var stored = await Codecs.EncryptAsync(encryptor, data, asynchronous);

            Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(encryptor, stored, asynchronous)));
        }
    }

    [Fact]
    public async Task Archiving_needs_only_the_public_key()
    {
        var data = Codecs.Data(10_000);
        var publicOnly = new PgpEncryptor(new PgpEncryptorOptions { Key = gpg.Rsa.ArmoredPublic });

        var stored = await Codecs.EncryptAsync(publicOnly, data);

        Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(RsaSecret, stored)));
        var ex = await Assert.ThrowsAsync<PgArchiveConfigurationException>(() => Codecs.DecryptAsync(publicOnly, stored));
        Assert.Contains("secret key", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("curve")]
    public async Task Gpg_decrypts_our_output(string which)
    {
        var key = which == "rsa" ? gpg.Rsa : gpg.Curve;
        var passphrase = which == "rsa" ? GpgHome.Passphrase : null;
        var data = Codecs.Data(1_500_000);
        var file = NewFile("ours.gpg");
        await File.WriteAllBytesAsync(file, await Codecs.EncryptAsync(new PgpEncryptor(new PgpEncryptorOptions { Key = key.ArmoredPublic }), data), TestContext.Current.CancellationToken);

        var decrypted = (await gpg.GpgAsync(["--verbose", "--decrypt", file], passphrase)).EnsureSuccess("gpg --decrypt");
        Assert.True(Codecs.Same(data, decrypted.Stdout), "gpg decrypted different bytes");
        Assert.Contains("AES256", decrypted.Stderr, StringComparison.Ordinal);

        // Binary, unarmored, to the encryption subkey (not the sign-only primary), AES-256 with an MDC, no compression: as WAL-G writes.
        var packets = (await gpg.GpgAsync(["--list-packets", file], passphrase)).EnsureSuccess("gpg --list-packets").StdoutText;
        Assert.Contains($"keyid {key.EncryptionSubkeyId}", packets, StringComparison.Ordinal);
        Assert.Contains("mdc_method: 2", packets, StringComparison.Ordinal);
        Assert.DoesNotContain("compressed packet", packets, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[]> GpgWritings() => new()
    {
        { "gpg default (compressed)", [] },
        { "WAL-E (gpg -e -z 0)", ["-z", "0"] },
        { "hidden recipient", ["--throw-keyids"] },
        { "AES-128", ["--cipher-algo", "AES128"] },
    };

    [Theory]
    [MemberData(nameof(GpgWritings))]
    public async Task We_decrypt_what_gpg_encrypts(string how, string[] options)
    {
        var data = Codecs.Data(1_200_000);
        var input = NewFile("plain");
        var output = NewFile("theirs.gpg");
        await File.WriteAllBytesAsync(input, data, TestContext.Current.CancellationToken);

        (await gpg.GpgAsync([.. options, "--recipient", gpg.Rsa.Fingerprint, "--output", output, "--encrypt", input])).EnsureSuccess("gpg --encrypt " + how);

        var stored = await File.ReadAllBytesAsync(output, TestContext.Current.CancellationToken);
        Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(RsaSecret, stored)), how);
    }

    [Fact]
    public async Task We_decrypt_a_signed_message_to_several_recipients()
    {
        var data = Codecs.Data(50_000);
        var input = NewFile("plain");
        var output = NewFile("signed.gpg");
        await File.WriteAllBytesAsync(input, data, TestContext.Current.CancellationToken);

        (await gpg.GpgAsync(["--local-user", gpg.Curve.Fingerprint, "--recipient", gpg.Other.Fingerprint, "--recipient", gpg.Rsa.Fingerprint,
            "--output", output, "--sign", "--encrypt", input])).EnsureSuccess("gpg --sign --encrypt");

        Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(RsaSecret, await File.ReadAllBytesAsync(output, TestContext.Current.CancellationToken))));
    }

    [Fact]
    public async Task Wrong_key_fails_naming_the_key_ids_it_was_written_to()
    {
        var stored = await Codecs.EncryptAsync(CurveSecret, Codecs.Data(1000));
        var other = new PgpEncryptor(new PgpEncryptorOptions { Key = gpg.Other.ArmoredSecret });

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(other, stored));

        Assert.Contains(gpg.Curve.EncryptionSubkeyId, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Changed_byte_fails_the_integrity_check()
    {
        var stored = await Codecs.EncryptAsync(CurveSecret, Codecs.Data(100_000));

        foreach (var position in new[] { stored.Length - 10, stored.Length / 2 })
        {
            var tampered = (byte[])stored.Clone();
            tampered[position] ^= 0x01;

            await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(CurveSecret, tampered));
        }
    }

    [Fact]
    public async Task Truncated_message_fails()
    {
        var stored = await Codecs.EncryptAsync(CurveSecret, Codecs.Data(200_000));

        foreach (var cut in new[] { 0, 5, 200, stored.Length / 2, stored.Length - 22, stored.Length - 1 })
        {
            await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(CurveSecret, stored[..cut]));
        }
    }

    [Fact]
    public async Task A_key_packet_of_a_version_BouncyCastle_does_not_know_fails_as_corrupt_data()
    {
        // An old-format secret-subkey packet (tag 7) whose version byte is 186: what a libsodium object read with an
        // OpenPGP key can start with. BouncyCastle throws its own UnsupportedPacketVersionException for it.
        byte[] stored = [0x9C, 0x20, 186, .. new byte[40]];

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(CurveSecret, stored));

        Assert.StartsWith("The OpenPGP message is corrupt or truncated: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unencrypted_object_fails_clearly()
    {
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(CurveSecret, Codecs.Data(5000)));
        Assert.Contains("OpenPGP", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Protected_key_without_passphrase_fails_at_decryption_naming_the_setting()
    {
        var stored = await Codecs.EncryptAsync(RsaSecret, Codecs.Data(100));
        var noPassphrase = new PgpEncryptor(new PgpEncryptorOptions { Key = gpg.Rsa.ArmoredSecret });

        var ex = await Assert.ThrowsAsync<PgArchiveConfigurationException>(() => Codecs.DecryptAsync(noPassphrase, stored));

        Assert.Contains("WALG_PGP_KEY_PASSPHRASE", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_passphrase_fails_at_start_without_echoing_it()
    {
        var ex = Assert.Throws<PgArchiveConfigurationException>(() =>
            new PgpEncryptor(new PgpEncryptorOptions { Key = gpg.Rsa.ArmoredSecret, Passphrase = "not-the-passphrase" }));

        Assert.Contains("WALG_PGP_KEY_PASSPHRASE", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-passphrase", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_on_one_line_with_literal_newlines_is_read_as_walg_does()
    {
        var oneLine = gpg.Curve.ArmoredSecret.Replace("\n", "\\n", StringComparison.Ordinal);

        var encryptor = new PgpEncryptor(new PgpEncryptorOptions { Key = oneLine });

        Assert.True(Codecs.Same([1, 2, 3], await Codecs.DecryptAsync(CurveSecret, await Codecs.EncryptAsync(encryptor, [1, 2, 3]))));
    }

    [Fact]
    public async Task Key_path_reads_armored_and_binary_keys()
    {
        var armored = NewFile("secret.asc");
        var binary = NewFile("public.gpg");
        await File.WriteAllTextAsync(armored, gpg.Curve.ArmoredSecret, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(binary, gpg.Curve.BinaryPublic, TestContext.Current.CancellationToken);

        var stored = await Codecs.EncryptAsync(new PgpEncryptor(new PgpEncryptorOptions { KeyPath = binary }), [4, 5, 6]);

        Assert.Equal([4, 5, 6], await Codecs.DecryptAsync(new PgpEncryptor(new PgpEncryptorOptions { KeyPath = armored }), stored));
    }

    [Fact]
    public void Missing_or_unreadable_key_fails_naming_the_setting()
    {
        var none = Assert.Throws<PgArchiveConfigurationException>(() => new PgpEncryptor(new PgpEncryptorOptions()));
        Assert.Contains("WALG_PGP_KEY", none.Message, StringComparison.Ordinal);

        var garbage = Assert.Throws<PgArchiveConfigurationException>(() => new PgpEncryptor(new PgpEncryptorOptions { Key = "-----BEGIN PGP nonsense secret" }));
        Assert.Contains("WALG_PGP_KEY", garbage.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("nonsense", garbage.Message, StringComparison.Ordinal);

        var path = Assert.Throws<PgArchiveConfigurationException>(() => new PgpEncryptor(new PgpEncryptorOptions { KeyPath = "/nonexistent/key.asc" }));
        Assert.Contains("WALG_PGP_KEY_PATH", path.Message, StringComparison.Ordinal);
    }
}
