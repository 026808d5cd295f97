using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Testing;

namespace PgArchive.Storage;

/// <summary>Each rule of <see cref="S3ObjectStoreOptionsValidator"/> alone, with its exact message; no server needed.</summary>
public sealed class S3ObjectStoreOptionsValidatorTests : OptionsValidatorContract<S3ObjectStoreOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "Bucket", "S3:Bucket is required: the bucket of WALG_S3_PREFIX=s3://bucket/path." },
        { "Bucket without '/'", "S3:Bucket 'bucket/path' must be a bucket name without '/': put the path in S3:Prefix." },
        { "PartSize", "S3:PartSize (S3_MAX_PART_SIZE) must be between 5 MiB (5242880) and 2 GiB; it is 5242879." },
        { "MaxConcurrentParts", "S3:MaxConcurrentParts must be between 1 and 64; it is 65." },
        { "MaxRetries", "S3:MaxRetries (S3_MAX_RETRIES) must be between 0 and 50; it is -1." },
        { "ServerSideEncryption", "S3:ServerSideEncryption (WALG_S3_SSE) must be AES256 or aws:kms, not 'aes'." },
        { "SseKmsKeyId", "S3:SseKmsKeyId (WALG_S3_SSE_KMS_ID) needs S3:ServerSideEncryption (WALG_S3_SSE) = aws:kms." },
        { "AccessKeyId and SecretAccessKey", "S3:AccessKeyId (AWS_ACCESS_KEY_ID) and S3:SecretAccessKey (AWS_SECRET_ACCESS_KEY) go together: set both or neither." },
        { "ServiceUrl", "S3:ServiceUrl (AWS_ENDPOINT) must be an absolute URL such as https://s3.example.com, not 's3.example.com'." },
        { "CaCertificateFile", "S3:CaCertificateFile (WALG_S3_CA_CERT_FILE) '/nonexistent/ca.pem' does not exist." },
    };

    protected override IValidateOptions<S3ObjectStoreOptions> Validator { get; } = new S3ObjectStoreOptionsValidator();

    protected override S3ObjectStoreOptions Valid() => new() { Bucket = "bucket" };

    protected override void Break(string rule, S3ObjectStoreOptions options)
    {
        switch (rule)
        {
            case "Bucket": options.Bucket = " "; break;
            case "Bucket without '/'": options.Bucket = "bucket/path"; break;
            case "PartSize": options.PartSize = (5 << 20) - 1; break;
            case "MaxConcurrentParts": options.MaxConcurrentParts = 65; break;
            case "MaxRetries": options.MaxRetries = -1; break;
            case "ServerSideEncryption": options.ServerSideEncryption = "aes"; break;
            case "SseKmsKeyId": options.SseKmsKeyId = "key"; options.ServerSideEncryption = "AES256"; break;
            case "AccessKeyId and SecretAccessKey": options.AccessKeyId = "id"; break;
            case "ServiceUrl": options.ServiceUrl = "s3.example.com"; break;
            case "CaCertificateFile": options.CaCertificateFile = "/nonexistent/ca.pem"; break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }

    [Fact]
    public void Misspelt_setting_in_the_section_fails_at_start_naming_it() =>
        ConfigurationAssert.MisspeltKeyFailsAtStart<S3ObjectStoreOptions>(
            new Dictionary<string, string?> { ["S3:Bucket"] = "bucket", ["S3:PartSiz"] = "5242880" },
            (services, configuration) => services.AddPgArchive().UseS3(configuration.GetSection("S3")),
            "PartSiz");
}
