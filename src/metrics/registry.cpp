// The registry: series values, label-set lookup (per-thread cache in front of a mutex-guarded
// creation map), the cardinality cap, and writing a family's series.
#include "ogp/metrics/registry.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <stdexcept>

namespace ogp::metrics {

// ---- values ----------------------------------------------------------------------------

void gauge::set(double v) noexcept
{
    bits_.store(std::bit_cast<std::uint64_t>(v), std::memory_order_relaxed);
}

void gauge::add(double d) noexcept
{
    auto old = bits_.load(std::memory_order_relaxed);
    while (!bits_.compare_exchange_weak(
        old, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old) + d),
        std::memory_order_relaxed)) {
    }
}

double gauge::value() const noexcept
{
    return std::bit_cast<double>(bits_.load(std::memory_order_relaxed));
}

histogram::histogram(std::span<const double> bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1])
{
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
        buckets_[i].store(0, std::memory_order_relaxed);
    }
}

void histogram::observe(double v) noexcept
{
    if (std::isnan(v)) {
        return;
    }
    // Upper bounds are inclusive: the first bound >= v. At most ~16 bounds: a linear scan
    // beats a binary search on branch prediction for the common small values.
    std::size_t i = 0;
    const std::size_t n = bounds_.size();
    while (i < n && v > bounds_[i]) {
        ++i;
    }
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    auto old = sum_bits_.load(std::memory_order_relaxed);
    while (!sum_bits_.compare_exchange_weak(
        old, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old) + v),
        std::memory_order_relaxed)) {
    }
}

double histogram::sum() const noexcept
{
    return std::bit_cast<double>(sum_bits_.load(std::memory_order_relaxed));
}

std::uint64_t histogram::count() const noexcept
{
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        total += bucket(i);
    }
    return total;
}

// ---- the per-thread cache ----------------------------------------------------------------

namespace {

std::atomic<std::uint64_t> next_uid{1};

/// A fast non-cryptographic hash over the label values (8 bytes a step; each value's length
/// mixed in so that boundaries matter), seeded by the family's uid. Not exposed to clients:
/// the cache is per thread and bounded, so collisions cost time, never correctness.
std::uint64_t hash_values(std::uint64_t uid, std::span<const std::string_view> values)
{
    std::uint64_t h = uid * 0x9E3779B97F4A7C15ULL;
    for (auto v : values) {
        const char* p = v.data();
        std::size_t n = v.size();
        h = (h ^ n) * 0xBF58476D1CE4E5B9ULL;
        while (n >= 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            h = (h ^ w) * 0x94D049BB133111EBULL;
            h ^= h >> 29;
            p += 8;
            n -= 8;
        }
        if (n > 0) {
            std::uint64_t w = 0;
            std::memcpy(&w, p, n);
            h = (h ^ w) * 0x94D049BB133111EBULL;
            h ^= h >> 29;
        }
    }
    // Final avalanche (the table uses the low bits).
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    return h;
}

/// The creation-map key of `values`: each value preceded by its length (one byte: values are
/// cut to 128 bytes), so that no two lists share a key.
std::string make_key(std::span<const std::string_view> values)
{
    std::string key;
    std::size_t total = 0;
    for (auto v : values) {
        total += v.size() + 1;
    }
    key.reserve(total);
    for (auto v : values) {
        key += static_cast<char>(v.size());
        key += v;
    }
    return key;
}

bool key_equals(std::string_view key, std::span<const std::string_view> values) noexcept
{
    std::size_t at = 0;
    for (auto v : values) {
        if (at >= key.size() || static_cast<unsigned char>(key[at]) != v.size() ||
            key.size() - at - 1 < v.size() ||
            (!v.empty() && std::memcmp(key.data() + at + 1, v.data(), v.size()) != 0)) {
            return false;
        }
        at += 1 + v.size();
    }
    return at == key.size();
}

/// Open addressing, linear probing; slot.uid == 0 marks an empty slot. Bounded: when full at
/// its largest size it is emptied (entries are rebuilt from the families' maps on demand).
class thread_cache
{
public:
    void* find(std::uint64_t uid, std::uint64_t hash,
               std::span<const std::string_view> values) const noexcept
    {
        if (slots_.empty()) {
            return nullptr;
        }
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            const auto& s = slots_[i];
            if (s.uid == 0) {
                return nullptr;
            }
            if (s.uid == uid && s.hash == hash && key_equals(s.key, values)) {
                return s.series;
            }
        }
    }

    void insert(std::uint64_t uid, std::uint64_t hash, std::string key, void* series)
    {
        if ((used_ + 1) * 2 > slots_.size()) {
            if (slots_.size() >= max_slots) {
                slots_.assign(slots_.size(), slot{});
                used_ = 0;
            } else {
                grow();
            }
        }
        place(slot{uid, hash, std::move(key), series});
        ++used_;
    }

private:
    struct slot
    {
        std::uint64_t uid = 0;
        std::uint64_t hash = 0;
        std::string key;
        void* series = nullptr;
    };
    static constexpr std::size_t max_slots = std::size_t{1} << 15;

    void grow()
    {
        std::vector<slot> old(slots_.empty() ? 64 : slots_.size() * 2);
        old.swap(slots_);
        for (auto& s : old) {
            if (s.uid != 0) {
                place(std::move(s));
            }
        }
    }

    void place(slot s)
    {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = s.hash & mask;
        while (slots_[i].uid != 0) {
            i = (i + 1) & mask;
        }
        slots_[i] = std::move(s);
    }

    std::vector<slot> slots_;
    std::size_t used_ = 0;
};

thread_local thread_cache tls_cache;

void check_name(std::string_view name, bool metric)
{
    const auto start_ok = [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
    };
    const auto char_ok = [&](char c) { return start_ok(c) || (c >= '0' && c <= '9'); };
    if (name.empty() || !start_ok(name[0]) || !std::all_of(name.begin(), name.end(), char_ok) ||
        (!metric && name.substr(0, 2) == "__")) {
        throw std::invalid_argument("metrics: invalid " + std::string(metric ? "metric" : "label") +
                                    " name '" + std::string(name) + "'");
    }
}

/// Up to 8 label values on the stack (more only for unusual families).
constexpr std::size_t max_labels = 8;

}  // namespace

// ---- family_base -------------------------------------------------------------------------

family_base::family_base(metric_kind kind, std::string name, std::string help,
                         std::vector<std::string> label_names, std::size_t cap)
    : uid_(next_uid.fetch_add(1, std::memory_order_relaxed)),
      // A gauge named `*_info` is an info metric (OpenMetrics type `info`).
      kind_(kind == metric_kind::gauge && name.size() > 5 && name.ends_with("_info")
                ? metric_kind::info
                : kind),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      cap_(std::max<std::size_t>(cap, 1))
{
    check_name(name_, true);
    if (kind_ == metric_kind::counter &&
        (name_.size() <= 6 || name_.substr(name_.size() - 6) != "_total")) {
        throw std::invalid_argument("metrics: counter name '" + name_ + "' must end in _total");
    }
    if (kind_ == metric_kind::info &&
        (name_.size() <= 5 || name_.substr(name_.size() - 5) != "_info")) {
        throw std::invalid_argument("metrics: info name '" + name_ + "' must end in _info");
    }
    if (label_names_.size() > max_labels) {
        throw std::invalid_argument("metrics: too many labels on '" + name_ + "'");
    }
    for (std::size_t i = 0; i < label_names_.size(); ++i) {
        check_name(label_names_[i], false);
        if (label_names_[i] == "le" || label_names_[i] == "quantile" ||
            std::find(label_names_.begin(), label_names_.begin() + static_cast<std::ptrdiff_t>(i),
                      label_names_[i]) != label_names_.begin() + static_cast<std::ptrdiff_t>(i)) {
            throw std::invalid_argument("metrics: bad label '" + label_names_[i] + "' on '" +
                                        name_ + "'");
        }
    }
}

family_base::~family_base() = default;

std::size_t family_base::size() const
{
    std::lock_guard lock(mu_);
    return entries_.size();
}

void* family_base::lookup(std::initializer_list<std::string_view> values)
{
    // Cut values first: the key, the hash and the rendered labels all see the same bytes.
    std::string_view cut[max_labels];
    std::size_t n = 0;
    for (auto v : values) {
        if (n == max_labels) {
            break;
        }
        cut[n++] = truncate_utf8(v);
    }
    // Missing or extra values (a caller's bug): pad with empty values / drop the extras.
    while (n < label_names_.size()) {
        cut[n++] = std::string_view();
    }
    n = label_names_.size();
    const std::span<const std::string_view> vals(cut, n);
    const auto hash = hash_values(uid_, vals);
    if (void* hit = tls_cache.find(uid_, hash, vals)) {
        return hit;
    }
    return create(vals, hash);
}

void* family_base::create(std::span<const std::string_view> values, std::uint64_t hash)
{
    auto key = make_key(values);
    void* series = nullptr;
    {
        std::lock_guard lock(mu_);
        if (auto it = by_key_.find(key); it != by_key_.end()) {
            series = it->second;
        } else if (by_key_.size() >= cap_) {
            if (!overflow_) {
                std::string labels;
                std::string_view overflow_values[max_labels];
                for (std::size_t i = 0; i < label_names_.size(); ++i) {
                    append_label(labels, label_names_[i], "overflow");
                    overflow_values[i] = "overflow";
                }
                overflow_ = create_series({overflow_values, label_names_.size()});
                entries_.push_back(entry{std::move(labels), overflow_});
            }
            series = overflow_;
            overflowed_.fetch_add(1, std::memory_order_relaxed);
        } else {
            std::string labels;
            std::size_t i = 0;
            for (auto v : values) {
                append_label(labels, label_names_[i++], v);
            }
            // Different raw values can render alike (invalid UTF-8 replaced): one series.
            if (auto same = by_labels_.find(labels); same != by_labels_.end()) {
                series = same->second;
            } else {
                series = create_series(values);
                by_labels_.emplace(labels, series);
                entries_.push_back(entry{std::move(labels), series});
            }
            by_key_.emplace(key, series);
        }
    }
    tls_cache.insert(uid_, hash, std::move(key), series);
    return series;
}

void family_base::write(text_writer& w) const
{
    w.header(name_, kind_, help_);
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) {
        write_series(w, e.labels, e.series);
    }
}

// ---- the three family types --------------------------------------------------------------

counter_family::counter_family(std::string name, std::string help,
                               std::vector<std::string> label_names, std::size_t cap)
    : family_base(metric_kind::counter, std::move(name), std::move(help), std::move(label_names),
                  cap)
{
}
counter_family::~counter_family() = default;

void* counter_family::create_series(std::span<const std::string_view>)
{
    series_.push_back(std::make_unique<counter>());
    return series_.back().get();
}

void counter_family::write_series(text_writer& w, const std::string& labels,
                                  const void* series) const
{
    w.sample(name(), labels, static_cast<const counter*>(series)->value());
}

gauge_family::gauge_family(std::string name, std::string help, std::vector<std::string> label_names,
                           std::size_t cap)
    : family_base(metric_kind::gauge, std::move(name), std::move(help), std::move(label_names), cap)
{
}
gauge_family::~gauge_family() = default;

void* gauge_family::create_series(std::span<const std::string_view>)
{
    series_.push_back(std::make_unique<gauge>());
    return series_.back().get();
}

void gauge_family::write_series(text_writer& w, const std::string& labels, const void* series) const
{
    w.sample(name(), labels, static_cast<const gauge*>(series)->value());
}

histogram_family::histogram_family(std::string name, std::string help,
                                   std::vector<std::string> label_names, std::vector<double> bounds,
                                   std::size_t cap)
    : family_base(metric_kind::histogram, std::move(name), std::move(help), std::move(label_names),
                  cap),
      bounds_(std::move(bounds))
{
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
            throw std::invalid_argument("metrics: bounds of '" + this->name() +
                                        "' must be finite and increasing");
        }
        std::string le = "le=\"";
        append_double(le, bounds_[i]);
        le += '"';
        le_.push_back(std::move(le));
    }
    le_.push_back("le=\"+Inf\"");
    bucket_name_ = this->name() + "_bucket";
    sum_name_ = this->name() + "_sum";
    count_name_ = this->name() + "_count";
}
histogram_family::~histogram_family() = default;

void* histogram_family::create_series(std::span<const std::string_view>)
{
    series_.push_back(std::make_unique<histogram>(bounds_));
    return series_.back().get();
}

void histogram_family::write_series(text_writer& w, const std::string& labels,
                                    const void* series) const
{
    const auto& h = *static_cast<const histogram*>(series);
    // The bucket lines dominate a scrape: written through a pointer into space reserved for
    // the longest possible lines (one resize per series instead of six appends per line).
    auto& out = w.out();
    const std::size_t line_fixed = bucket_name_.size() + labels.size() + 5 + 20;  // {,} \n + u64
    std::size_t bound = 0;
    for (const auto& le : le_) {
        bound += line_fixed + le.size();
    }
    const auto old = out.size();
    out.resize(old + bound);
    char* p = out.data() + old;
    const auto put = [&p](std::string_view s) {
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    };
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < le_.size(); ++i) {
        cumulative += h.bucket(i);
        put(bucket_name_);
        *p++ = '{';
        put(labels);
        if (!labels.empty()) {
            *p++ = ',';
        }
        put(le_[i]);
        *p++ = '}';
        *p++ = ' ';
        p = std::to_chars(p, p + 20, cumulative).ptr;
        *p++ = '\n';
    }
    out.resize(static_cast<std::size_t>(p - out.data()));
    w.sample(sum_name_, labels, h.sum());
    // The count the buckets add up to: equal to the +Inf bucket by construction.
    w.sample(count_name_, labels, cumulative);
}

// ---- registry ----------------------------------------------------------------------------

namespace {

void check_unique(const std::vector<std::unique_ptr<family_base>>& families,
                  const std::string& name)
{
    for (const auto& f : families) {
        if (f->name() == name) {
            throw std::invalid_argument("metrics: family '" + name + "' registered twice");
        }
    }
}

}  // namespace

counter_family& registry::add_counter(std::string name, std::string help,
                                      std::vector<std::string> label_names, std::size_t cap)
{
    check_unique(families_, name);
    auto f = std::make_unique<counter_family>(std::move(name), std::move(help),
                                              std::move(label_names), cap);
    auto& ref = *f;
    families_.push_back(std::move(f));
    return ref;
}

gauge_family& registry::add_gauge(std::string name, std::string help,
                                  std::vector<std::string> label_names, std::size_t cap)
{
    check_unique(families_, name);
    auto f = std::make_unique<gauge_family>(std::move(name), std::move(help),
                                            std::move(label_names), cap);
    auto& ref = *f;
    families_.push_back(std::move(f));
    return ref;
}

histogram_family& registry::add_histogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds, std::size_t cap)
{
    check_unique(families_, name);
    auto f = std::make_unique<histogram_family>(std::move(name), std::move(help),
                                                std::move(label_names), std::move(bounds), cap);
    auto& ref = *f;
    families_.push_back(std::move(f));
    return ref;
}

void registry::write(text_writer& w) const
{
    for (const auto& f : families_) {
        f->write(w);
    }
}

}  // namespace ogp::metrics
