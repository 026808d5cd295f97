using System.Security.Cryptography;
using System.Text;
using PgArchive.Support;

namespace PgArchive.Encryption;

public sealed class LibsodiumEncryptorTests
{
    private const int Header = 24;
    private const int SealedChunk = 8192 + 17;
    private readonly byte[] _key = Codecs.RandomKey();

    private LibsodiumEncryptor Encryptor => new(_key);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(8191)]
    [InlineData(8192)]
    [InlineData(8193)]
    [InlineData(100_000)]
    public async Task Stored_size_follows_walg_framing(int length)
    {
        var stored = await Codecs.EncryptAsync(Encryptor, Codecs.Data(length));

        // 24-byte header, 8209 bytes per full 8192-byte chunk, remainder + 17 for the FINAL chunk (17 alone when the remainder is empty).
        Assert.Equal(Header + (length / 8192 * SealedChunk) + (length % 8192) + 17, stored.Length);
    }

    [Fact]
    public async Task Encrypting_the_same_input_twice_differs()
    {
        var data = Codecs.Data(1000);

        Assert.NotEqual(await Codecs.EncryptAsync(Encryptor, data), await Codecs.EncryptAsync(Encryptor, data));
    }

    [Theory]
    [InlineData(8192)]
    [InlineData(3 * 8192)]
    [InlineData(5 * 8192 + 100)]
    public async Task Stream_cut_at_a_chunk_boundary_fails_for_lack_of_the_final_chunk(int length)
    {
        var stored = await Codecs.EncryptAsync(Encryptor, Codecs.Data(length));
        var fullChunks = length / 8192;

        foreach (var kept in Enumerable.Range(0, fullChunks + 1))
        {
            var cut = stored[..(Header + (kept * SealedChunk))];

            var ex = await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(Encryptor, cut));
            Assert.Contains("FINAL", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Stream_cut_inside_a_chunk_fails()
    {
        var stored = await Codecs.EncryptAsync(Encryptor, Codecs.Data(50_000));

        foreach (var cut in new[] { 10, Header, Header + 5, Header + SealedChunk - 1, Header + SealedChunk + 100, stored.Length - 1 })
        {
            await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(Encryptor, stored[..cut]));
        }
    }

    [Fact]
    public async Task Changed_byte_anywhere_fails_authentication()
    {
        var stored = await Codecs.EncryptAsync(Encryptor, Codecs.Data(30_000));

        foreach (var position in new[] { 0, 23, Header, Header + SealedChunk + 7, stored.Length - 1 })
        {
            var tampered = (byte[])stored.Clone();
            tampered[position] ^= 0x01;

            await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(Encryptor, tampered));
        }
    }

    [Fact]
    public async Task Swapped_chunks_fail_authentication()
    {
        var stored = await Codecs.EncryptAsync(Encryptor, Codecs.Data(3 * 8192 + 10));
        var swapped = (byte[])stored.Clone();
        stored.AsSpan(Header, SealedChunk).CopyTo(swapped.AsSpan(Header + SealedChunk));
        stored.AsSpan(Header + SealedChunk, SealedChunk).CopyTo(swapped.AsSpan(Header));

        await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(Encryptor, swapped));
    }

    [Fact]
    public async Task Wrong_key_fails_on_the_first_chunk_and_says_so()
    {
        var stored = await Codecs.EncryptAsync(Encryptor, Codecs.Data(100));

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(new LibsodiumEncryptor(Codecs.RandomKey()), stored));

        Assert.Contains("key differs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bytes_after_the_final_chunk_fail()
    {
        var stored = await Codecs.EncryptAsync(Encryptor, Codecs.Data(100));

        await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(Encryptor, [.. stored, 0]));
    }

    [Fact]
    public async Task Empty_or_unencrypted_object_fails_clearly()
    {
        var empty = await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(Encryptor, []));
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecryptAsync(Encryptor, Codecs.Data(5000)));
    }

    [Fact]
    public async Task Plaintext_of_a_chunk_is_not_handed_out_before_it_authenticated()
    {
        var stored = await Codecs.EncryptAsync(Encryptor, Codecs.Data(3 * 8192));
        stored[Header + SealedChunk + 100] ^= 0x01; // second chunk

        await using var decrypt = Encryptor.CreateDecryptionStream(new UnseekableMemory(stored));
        var buffer = new byte[8192];
        Assert.Equal(8192, await decrypt.ReadAtLeastAsync(buffer, 8192, cancellationToken: TestContext.Current.CancellationToken));

        var ex = await Assert.ThrowsAsync<InvalidDataException>(async () => await decrypt.ReadAtLeastAsync(buffer, 1, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("chunk 2", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0123456789012345678901234", "0123456789012345678901234\0\0\0\0\0\0\0")]
    [InlineData("01234567890123456789012345678901", "01234567890123456789012345678901")]
    [InlineData("0123456789012345678901234567890123456789", "01234567890123456789012345678901")]
    public async Task Key_without_transform_is_padded_or_cut_to_32_bytes_as_walg_does(string text, string effective)
    {
        var encryptor = new LibsodiumEncryptor(new LibsodiumEncryptorOptions { Key = text });
        var data = Codecs.Data(100);

        var stored = await Codecs.EncryptAsync(encryptor, data);

        Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(new LibsodiumEncryptor(Encoding.UTF8.GetBytes(effective)), stored)));
    }

    [Fact]
    public async Task Hex_and_base64_keys_decode_to_the_same_key()
    {
        var data = Codecs.Data(100);
        var stored = await Codecs.EncryptAsync(Encryptor, data);
        var hex = new LibsodiumEncryptor(new LibsodiumEncryptorOptions { Key = Convert.ToHexStringLower(_key), KeyTransform = LibsodiumKeyTransform.Hex });
        var base64 = new LibsodiumEncryptor(new LibsodiumEncryptorOptions { Key = Convert.ToBase64String(_key), KeyTransform = LibsodiumKeyTransform.Base64 });

        Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(hex, stored)));
        Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(base64, stored)));
    }

    [Fact]
    public async Task Key_file_is_read_and_trimmed()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, "  " + Convert.ToHexString(_key) + "\n\n", TestContext.Current.CancellationToken);
            var fromFile = new LibsodiumEncryptor(new LibsodiumEncryptorOptions { KeyPath = path, KeyTransform = LibsodiumKeyTransform.Hex });
            var data = Codecs.Data(100);

            Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(fromFile, await Codecs.EncryptAsync(Encryptor, data))));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Inline_key_wins_over_key_path_as_in_walg()
    {
        var encryptor = new LibsodiumEncryptor(new LibsodiumEncryptorOptions
        {
            Key = Convert.ToHexString(_key),
            KeyPath = "/nonexistent/key",
            KeyTransform = LibsodiumKeyTransform.Hex,
        });

        Assert.True(Codecs.Same([1, 2, 3], await Codecs.DecryptAsync(Encryptor, await Codecs.EncryptAsync(encryptor, [1, 2, 3]))));
    }

    public static TheoryData<LibsodiumEncryptorOptions, string> BadKeys() => new()
    {
        { new LibsodiumEncryptorOptions(), "WALG_LIBSODIUM_KEY" },
        { new LibsodiumEncryptorOptions { Key = "secret-but-too-short" }, "at least 25" },
        { new LibsodiumEncryptorOptions { Key = "secret-not-hex-secret-not-hex-secret-not-hex-secret-not-hex-xxxx", KeyTransform = LibsodiumKeyTransform.Hex }, "not valid hex" },
        { new LibsodiumEncryptorOptions { Key = "c2VjcmV0LXRvby1zaG9ydA==", KeyTransform = LibsodiumKeyTransform.Base64 }, "decodes to 16 bytes" },
        { new LibsodiumEncryptorOptions { Key = "secret!!not!!base64!!secret", KeyTransform = LibsodiumKeyTransform.Base64 }, "not valid base64" },
        { new LibsodiumEncryptorOptions { KeyPath = "/nonexistent/secret-key-file" }, "WALG_LIBSODIUM_KEY_PATH" },
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public void Bad_key_fails_naming_the_setting_and_never_the_key(LibsodiumEncryptorOptions options, string expected)
    {
        var ex = Assert.Throws<PgArchiveConfigurationException>(() => new LibsodiumEncryptor(options));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        if (options.Key is { } key)
        {
            Assert.DoesNotContain(key, ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Raw_key_of_the_wrong_size_is_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => new LibsodiumEncryptor(RandomNumberGenerator.GetBytes(31)));
    }
}
