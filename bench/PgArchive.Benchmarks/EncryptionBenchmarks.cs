using BenchmarkDotNet.Attributes;
using PgArchive.Encryption;

namespace PgArchive.Benchmarks;

/// <summary>Each encryptor over a 16 MiB WAL segment: encrypt and decrypt, single-threaded.</summary>
public class EncryptionBenchmarks
{
    private byte[] _input = [];
    private byte[] _encrypted = [];
    private IEncryptor _encryptor = null!;

    [Params("libsodium", "openpgp")]
    public string Encryptor { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _input = BenchmarkInputs.Load("wal");
        _encryptor = Encryptor switch
        {
            "libsodium" => new LibsodiumEncryptor(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            "openpgp" => new PgpEncryptor(new PgpEncryptorOptions { Key = BenchmarkPgpKey.ArmoredSecretKey }),
            _ => throw new InvalidOperationException(Encryptor),
        };
        using var stored = new MemoryStream();
        using (var encrypt = _encryptor.CreateEncryptionStream(stored, leaveOpen: true))
        {
            encrypt.Write(_input);
        }

        _encrypted = stored.ToArray();
        Results.Record(Encryptor, "wal", _input.Length, _encrypted.Length);
    }

    [Benchmark]
    public long Encrypt()
    {
        var sink = new CountingStream();
        using (var encrypt = _encryptor.CreateEncryptionStream(sink, leaveOpen: true))
        {
            encrypt.Write(_input);
        }

        return sink.Length;
    }

    [Benchmark]
    public long Decrypt()
    {
        using var decrypt = _encryptor.CreateDecryptionStream(new MemoryStream(_encrypted, writable: false));
        var sink = new CountingStream();
        decrypt.CopyTo(sink, 1 << 16);
        return sink.Length;
    }
}
