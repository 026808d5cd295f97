using Microsoft.Extensions.Options;

namespace PgArchive.Compression.Sample;

/// <summary>Checks <see cref="XorCompressorOptions"/> at start-up.</summary>
internal sealed class XorCompressorOptionsValidator : IValidateOptions<XorCompressorOptions>
{
    public ValidateOptionsResult Validate(string? name, XorCompressorOptions options) =>
        options.Key != 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("PgArchive:Xor:Key must not be 0: XOR with 0 would store the data as it is.");
}
