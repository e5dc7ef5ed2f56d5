using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace UserBridge.Cli.Commands;

/// <summary>
/// The range of a numeric flag, checked while the command line is parsed: a value outside it, or no number at all, is a
/// usage error (exit 2, see Program.cs) that names the flag, the value and the range, before anything runs, so that no
/// flag can reach a timer or a wait that would throw later (<c>run --stats 2147484</c> once did, as milliseconds past
/// <see cref="int.MaxValue"/>). It is the flag's parser, so a number too big for its type gets the same error.
/// </summary>
internal static class FlagRange
{
    /// <summary>Refuses a value of <paramref name="option"/> outside <paramref name="min"/> to <paramref name="max"/>; <paramref name="meaning"/> follows the range ("seconds").</summary>
    public static Option<T> Within<T>(this Option<T> option, T min, T max, string meaning = "")
        where T : struct, INumber<T>
    {
        option.CustomParser = result => Parse(result, option.Name, min, max, meaning) ?? default;
        return option;
    }

    /// <summary>The same for an optional flag: absent is fine, any value given must be in the range.</summary>
    public static Option<T?> Within<T>(this Option<T?> option, T min, T max, string meaning = "")
        where T : struct, INumber<T>
    {
        option.CustomParser = result => Parse(result, option.Name, min, max, meaning);
        return option;
    }

    /// <summary>The same for an argument, named by its help name (<c>ID</c>).</summary>
    public static Argument<T> Within<T>(this Argument<T> argument, T min, T max)
        where T : struct, INumber<T>
    {
        argument.CustomParser = result => Parse(result, argument.Name, min, max, string.Empty) ?? default;
        return argument;
    }

    private static T? Parse<T>(ArgumentResult result, string name, T min, T max, string meaning)
        where T : struct, INumber<T>
    {
        var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;

        // "Not within" rather than "outside", so that NaN, which compares false to everything, is refused too.
        if (T.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} {token}: use {min} to {max}{meaning}"));
        return null;
    }
}
